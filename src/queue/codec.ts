/**
 * Compact binary forms of what travels through Redis in queue mode, so that no audio or score
 * array becomes a JSON list of numbers:
 *   audio   the Float32 samples' bytes as they are (4 bytes per sample, little-endian host order)
 *   result  [u32 header length][JSON header][pad to 4][Float32 data: embedding, frame scores]
 * A result carries per-frame scores (timelines) but not per-frame embeddings: the bots never read
 * those (they ask with frameEmbeddings: false), and they would be 768 floats per 20 ms of audio.
 */
import { VoicemoodError } from '../domain/errors.ts';
import { isEmotion } from '../domain/emotions.ts';
import type { EmotionResult } from '../inference/types.ts';

export function encodeSamples(samples: Float32Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

/** Samples from Redis bytes; undefined when the bytes cannot be float32 samples. */
export function decodeSamples(bytes: Buffer): Float32Array | undefined {
  if (bytes.byteLength % 4 !== 0) return undefined;
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

interface Header {
  emotion: string;
  confidence: number;
  scores: EmotionResult['scores'];
  logits: number[];
  durationS: number;
  model: string;
  embedding: number;
  frames?: { count: number; frameRate: number; scores: number };
}

export function encodeResult(r: EmotionResult): Buffer {
  const header: Header = {
    emotion: r.emotion,
    confidence: r.confidence,
    scores: r.scores,
    logits: r.logits,
    durationS: r.durationS,
    model: r.model,
    embedding: r.embedding.length,
    ...(r.frames ? { frames: { count: r.frames.count, frameRate: r.frames.frameRate, scores: r.frames.scores.length } } : {}),
  };
  const json = Buffer.from(JSON.stringify(header));
  const start = align4(4 + json.length);
  const floats = header.embedding + (header.frames?.scores ?? 0);
  const out = Buffer.alloc(start + floats * 4);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  const data = new Float32Array(out.buffer, out.byteOffset + start, floats);
  data.set(r.embedding, 0);
  if (r.frames) data.set(r.frames.scores, header.embedding);
  return out;
}

export function decodeResult(bytes: Buffer): EmotionResult {
  const bad = (): VoicemoodError => new VoicemoodError('internal', 'An inference worker sent back a result that cannot be read.');
  if (bytes.length < 4) throw bad();
  const len = bytes.readUInt32LE(0);
  if (4 + len > bytes.length) throw bad();
  let header: Header;
  try {
    header = JSON.parse(bytes.subarray(4, 4 + len).toString('utf8')) as Header;
  } catch {
    throw bad();
  }
  if (!isEmotion(header.emotion)) throw bad();
  const start = align4(4 + len);
  const floats = header.embedding + (header.frames?.scores ?? 0);
  if (start + floats * 4 !== bytes.length) throw bad();
  const data = new Float32Array(floats);
  new Uint8Array(data.buffer).set(bytes.subarray(start));
  const result: EmotionResult = {
    emotion: header.emotion,
    confidence: header.confidence,
    scores: header.scores,
    logits: header.logits,
    embedding: data.slice(0, header.embedding),
    durationS: header.durationS,
    model: header.model,
  };
  if (header.frames) {
    result.frames = { count: header.frames.count, dim: header.embedding, frameRate: header.frames.frameRate, scores: data.slice(header.embedding) };
  }
  return result;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * A worker's failure as BullMQ's failedReason: the typed error's code and sentence, so that the
 * gateway can answer with the same VoicemoodError the in-process engine would have thrown.
 */
export function encodeFailure(e: VoicemoodError): string {
  return JSON.stringify({ voicemood: e.code, message: e.message, ...(e.retryAfterS !== undefined ? { retryAfterS: e.retryAfterS } : {}) });
}

export function decodeFailure(reason: string): VoicemoodError {
  try {
    const v = JSON.parse(reason) as { voicemood?: unknown; message?: unknown; retryAfterS?: unknown };
    if (typeof v.voicemood === 'string' && typeof v.message === 'string') {
      return new VoicemoodError(v.voicemood as VoicemoodError['code'], v.message, typeof v.retryAfterS === 'number' ? { retryAfterS: v.retryAfterS } : {});
    }
  } catch {
    // not ours: a crash, a stalled job given up on
  }
  return new VoicemoodError('internal', 'The emotion model failed on this audio.', { details: { failedReason: reason.slice(0, 200) } });
}
