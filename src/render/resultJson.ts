/**
 * What result.json holds, built from a VoiceAnalysis: one pure function shared by the CLI
 * (`voicemood analyze`, result.json and --json lines) and the REST API (`POST /api/v1/analyze`),
 * so that both answer the same fields with the same rounding.
 */
import { VoicemoodError } from '../domain/errors.ts';
import type { VoiceAnalysis } from '../usecases/analyzeVoice.ts';
import { EMOTIONS, namedScores, topEmotion } from '../domain/emotions.ts';

export type Granularity = 'utterance' | 'frame';

/** What result.json holds (and, after `input`, what a --json line holds). */
export interface ResultJson {
  emotion: string;
  confidence: number;
  scores: Record<string, number>;
  granularity: Granularity;
  /** ISO 8601, when the analysis finished. */
  timestamp: string;
  duration_s: number;
  model: string;
  /** Detected input format, e.g. "ogg/opus". */
  format: string;
  /** Things to know about the input (e.g. a truncated file); only when there are some. */
  notes?: string[];
  /** Frame granularity only: one entry per frame (50 per second). */
  frames?: { time: number; emotion: string; scores: Record<string, number> }[];
}

const round = (x: number, digits = 6): number => Number(x.toFixed(digits));

function roundedScores(scores: Record<string, number>): Record<string, number> {
  return Object.fromEntries(EMOTIONS.map((e) => [e, round(scores[e] ?? 0)]));
}

export function resultJson(a: VoiceAnalysis, granularity: Granularity, timestamp: Date): ResultJson {
  const out: ResultJson = {
    emotion: a.emotion,
    confidence: round(a.confidence),
    scores: roundedScores(a.scores),
    granularity,
    timestamp: timestamp.toISOString(),
    duration_s: round(a.durationS, 3),
    model: a.model,
    format: a.audio.format,
  };
  if (a.audio.notes?.length) out.notes = a.audio.notes;
  if (granularity === 'frame' && a.frames) {
    const f = a.frames;
    const k = EMOTIONS.length;
    out.frames = Array.from({ length: f.count }, (_, i) => {
      const scores = namedScores(f.scores.subarray(i * k, (i + 1) * k));
      return { time: round(f.times[i], 3), emotion: topEmotion(scores).emotion, scores: roundedScores(scores) };
    });
  }
  return out;
}

/** The embedding as written to embedding.npy: [1, D] for an utterance, [T, D] for frames. */
export function embeddingMatrix(a: VoiceAnalysis, granularity: Granularity): { data: Float32Array; shape: [number, number] } {
  if (granularity === 'frame') {
    if (!a.frames?.embeddings) throw new VoicemoodError('internal', 'Frame embeddings were asked for, but none came back.');
    return { data: a.frames.embeddings.subarray(0, a.frames.count * a.frames.dim), shape: [a.frames.count, a.frames.dim] };
  }
  return { data: a.embedding, shape: [1, a.embedding.length] };
}

/** The embedding as JSON: one array of D numbers for an utterance, T arrays of D for frames. */
export function embeddingJson(a: VoiceAnalysis, granularity: Granularity): number[] | number[][] {
  const m = embeddingMatrix(a, granularity);
  const rows = Array.from({ length: m.shape[0] }, (_, r) => Array.from(m.data.subarray(r * m.shape[1], (r + 1) * m.shape[1])));
  return granularity === 'frame' ? rows : rows[0];
}
