/**
 * The one use case every adapter calls: bytes of a voice note or file → how it sounds.
 *
 *   decode (any format, from the bytes) → limits (size, duration, too short, silent)
 *   → segments of at most `limits.segmentS` → engine.analyze per segment → one combined result
 *
 * Combining segments: scores are the duration-weighted mean of the segments' scores (so they
 * still sum to 1), emotion/confidence are the top of those, the embedding is the
 * duration-weighted mean, logits likewise (an approximation, kept for completeness), and the
 * frames of all segments are concatenated with their true start times in `frames.times`.
 */
import { decodeAudio } from '../audio/decode.ts';
import { assertAnalysable, audioLimitsFromEnv } from '../audio/limits.ts';
import type { AudioLimits, DecodedAudio, DecodeOptions } from '../audio/types.ts';
import { VoicemoodError } from '../domain/errors.ts';
import type { EmotionEngine, EmotionResult, FrameResults } from '../inference/types.ts';
import { SAMPLE_RATE } from '../domain/audio.ts';
import { EMOTIONS, namedScores, topEmotion, type EmotionScores } from '../domain/emotions.ts';

export interface AnalyzeVoiceOptions {
  /** File name or URL path: a hint for messages only, the bytes decide the format. */
  filename?: string;
  mimeType?: string;
  /**
   * Overrides of the limits; the rest come from the VOICEMOOD_AUDIO_* environment variables,
   * else the defaults (src/audio/limits.ts: audioLimitsFromEnv, DEFAULT_LIMITS).
   */
  limits?: Partial<AudioLimits>;
  /** Also return per-frame scores and embeddings (for timelines and `--granularity frame`). */
  frames?: boolean;
  /** With `frames`: the frame embeddings too (default true); the bots' timelines need only the scores. */
  frameEmbeddings?: boolean;
  signal?: AbortSignal;
  /** Gets what must not reach users, e.g. ffmpeg's error output. */
  logger?: DecodeOptions['logger'];
}

/** Frames of the whole input: FrameResults plus the start time of every frame. */
export interface VoiceFrames extends FrameResults {
  /** Start time in seconds of each of the `count` frames (segments are concatenated). */
  times: Float32Array;
}

/** One analysed piece of a long input. */
export interface SegmentAnalysis {
  startS: number;
  durationS: number;
  result: EmotionResult;
}

/** What analyzeVoice answers: an EmotionResult for the whole input, plus what it came from. */
export interface VoiceAnalysis extends EmotionResult {
  /** Duration-weighted over the segments. */
  scores: EmotionScores;
  /** Present when options.frames was set. */
  frames?: VoiceFrames;
  /** Seconds of decoded audio. */
  durationS: number;
  /** The decoded 16 kHz mono audio (the CLI writes it as processed_audio.wav). */
  audio: DecodedAudio;
  /** One entry per segment, in order (a single one for audio up to limits.segmentS). */
  segments: SegmentAnalysis[];
}

/** Splits n samples into the fewest equal pieces no longer than maxS (no tiny last piece). */
export function segmentBounds(n: number, sampleRate: number, maxS: number): { start: number; end: number }[] {
  const maxLen = Math.max(1, Math.floor(maxS * sampleRate));
  const count = Math.max(1, Math.ceil(n / maxLen));
  const out: { start: number; end: number }[] = [];
  for (let i = 0; i < count; i++) out.push({ start: Math.round((i * n) / count), end: Math.round(((i + 1) * n) / count) });
  return out;
}

/** Environment limits overlaid with the caller's (undefined values keep the environment's). */
function limitsFor(partial: Partial<AudioLimits> | undefined): AudioLimits {
  const limits = audioLimitsFromEnv();
  for (const [k, v] of Object.entries(partial ?? {}) as [keyof AudioLimits, number | undefined][]) if (v !== undefined) limits[k] = v;
  return limits;
}

export async function analyzeVoice(engine: EmotionEngine, bytes: Uint8Array, options: AnalyzeVoiceOptions = {}): Promise<VoiceAnalysis> {
  const limits = limitsFor(options.limits);
  const audio = await decodeAudio(bytes, {
    filename: options.filename,
    mimeType: options.mimeType,
    limits,
    signal: options.signal,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return analyzeSamples(engine, audio, { ...options, limits });
}

/** The same use case for audio that is already decoded (e.g. Discord voice receive). */
export async function analyzeSamples(
  engine: EmotionEngine,
  audio: DecodedAudio,
  options: Pick<AnalyzeVoiceOptions, 'limits' | 'frames' | 'frameEmbeddings' | 'signal'> = {},
): Promise<VoiceAnalysis> {
  const limits = limitsFor(options.limits);
  assertAnalysable(audio.samples, SAMPLE_RATE, limits);
  const segments: SegmentAnalysis[] = [];
  // One segment at a time: a long file must not fill the shared engine's queue by itself.
  for (const { start, end } of segmentBounds(audio.samples.length, SAMPLE_RATE, limits.segmentS)) {
    options.signal?.throwIfAborted();
    const result = await engine.analyze(audio.samples.subarray(start, end), {
      frames: options.frames === true,
      ...(options.frameEmbeddings === false ? { frameEmbeddings: false } : {}),
      signal: options.signal,
    });
    segments.push({ startS: start / SAMPLE_RATE, durationS: (end - start) / SAMPLE_RATE, result });
  }
  return combine(segments, audio, options.frames === true, engine.model.id);
}

/**
 * One utterance of a voice channel (16 kHz mono, cut by the VAD): the same checks, segmentation
 * and combination as a voice note, without the decoding.
 */
export function analyseUtterance(
  engine: EmotionEngine,
  samples: Float32Array,
  options: Pick<AnalyzeVoiceOptions, 'limits' | 'frames' | 'frameEmbeddings' | 'signal'> = {},
): Promise<VoiceAnalysis> {
  const audio: DecodedAudio = {
    samples,
    sampleRate: SAMPLE_RATE,
    durationS: samples.length / SAMPLE_RATE,
    format: 'pcm',
    sourceSampleRate: SAMPLE_RATE,
    sourceChannels: 1,
  };
  return analyzeSamples(engine, audio, options);
}

function combine(segments: SegmentAnalysis[], audio: DecodedAudio, withFrames: boolean, modelId: string): VoiceAnalysis {
  const total = segments.reduce((s, x) => s + x.durationS, 0) || 1;
  const first = segments[0].result;
  const scoreRow = new Array<number>(EMOTIONS.length).fill(0);
  const logits = new Array<number>(first.logits.length).fill(0);
  const embedding = new Float32Array(first.embedding.length);
  for (const { durationS, result } of segments) {
    const w = durationS / total;
    EMOTIONS.forEach((e, i) => (scoreRow[i] += w * result.scores[e]));
    result.logits.forEach((v, i) => (logits[i] += w * v));
    if (result.embedding.length !== embedding.length) throw new VoicemoodError('internal', 'The model answered embeddings of different sizes for one input.');
    for (let i = 0; i < embedding.length; i++) embedding[i] += w * result.embedding[i];
  }
  const scores = namedScores(scoreRow);
  const { emotion, confidence } = topEmotion(scores);
  return {
    emotion,
    confidence,
    scores,
    logits,
    embedding,
    ...(withFrames ? { frames: concatFrames(segments) } : {}),
    durationS: audio.durationS,
    model: first.model || modelId,
    audio,
    segments,
  };
}

function concatFrames(segments: SegmentAnalysis[]): VoiceFrames {
  const parts = segments.map((s) => {
    const f = s.result.frames;
    if (!f) throw new VoicemoodError('internal', 'Frame results were asked for, but the model did not return any.');
    return { f, startS: s.startS };
  });
  const dim = parts[0].f.dim;
  const frameRate = parts[0].f.frameRate;
  const count = parts.reduce((n, p) => n + p.f.count, 0);
  // Frame embeddings only when every segment has them (none when asked without them).
  const embeddings = parts.every((p) => p.f.embeddings) ? new Float32Array(count * dim) : undefined;
  const scores = new Float32Array(count * EMOTIONS.length);
  const times = new Float32Array(count);
  let at = 0;
  for (const { f, startS } of parts) {
    if (embeddings && f.embeddings) embeddings.set(f.embeddings.subarray(0, f.count * dim), at * dim);
    scores.set(f.scores.subarray(0, f.count * EMOTIONS.length), at * EMOTIONS.length);
    for (let i = 0; i < f.count; i++) times[at + i] = startS + i / f.frameRate;
    at += f.count;
  }
  return { count, dim, frameRate, ...(embeddings ? { embeddings } : {}), scores, times };
}
