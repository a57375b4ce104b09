/**
 * The messages between the main thread (workerSession.ts) and the inference thread
 * (sessionWorker.ts). Input and output arrays travel as transferred ArrayBuffers (moved, not
 * copied). Kept apart from both so that the main thread never loads onnxruntime-node for them.
 *
 *   main → worker   { type: 'run', id, waveform, lengths, rows, width, withFrames, frameEmbeddings }
 *                   { type: 'release' }
 *   worker → main   { type: 'opened', optimizedCache }   | { type: 'open_failed', error }
 *                   { type: 'result', id, out }           | { type: 'run_failed', id, error }
 *                   { type: 'released' }                  (then the thread ends)
 */
import { VoicemoodError, type ErrorCode } from '../domain/errors.ts';
import type { BatchOutputs, OpenedSession, SessionOptions } from './session.ts';

export interface SessionWorkerData {
  modelPath: string;
  options: SessionOptions;
}

export type ToWorker =
  | { type: 'run'; id: number; waveform: Float32Array; lengths: BigInt64Array; rows: number; width: number; withFrames: boolean; frameEmbeddings: boolean }
  | { type: 'release' };

/** An error as it crosses the thread boundary (structured clone drops a class and its fields). */
export type WireError =
  | { voicemood: { code: ErrorCode; message: string; details: Record<string, unknown>; retryAfterS: number | undefined } }
  | { plain: { name: string; message: string } };

export type FromWorker =
  | { type: 'opened'; optimizedCache: OpenedSession['optimizedCache'] }
  | { type: 'open_failed'; error: WireError }
  | { type: 'result'; id: number; out: BatchOutputs }
  | { type: 'run_failed'; id: number; error: WireError }
  | { type: 'released' };

export function toWire(e: unknown): WireError {
  if (e instanceof VoicemoodError) return { voicemood: { code: e.code, message: e.message, details: e.details, retryAfterS: e.retryAfterS } };
  return { plain: e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) } };
}

export function fromWire(w: WireError): Error {
  if ('voicemood' in w)
    return new VoicemoodError(w.voicemood.code, w.voicemood.message, { details: w.voicemood.details, retryAfterS: w.voicemood.retryAfterS });
  const e = new Error(w.plain.message);
  e.name = w.plain.name;
  return e;
}

/** The distinct ArrayBuffers behind a batch's outputs, to transfer them instead of copying. */
export function outputBuffers(out: BatchOutputs): ArrayBuffer[] {
  const arrays = [out.scores, out.logits, out.embedding, out.frameLengths, out.frames, out.frameScores];
  const buffers = new Set<ArrayBuffer>();
  for (const a of arrays) if (a && a.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
  return [...buffers];
}
