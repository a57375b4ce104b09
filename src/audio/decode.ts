/**
 * The one entry point of the audio layer: bytes in any common format → 16 kHz mono float32.
 * The format comes from the bytes (decodeInThread.ts); the decode runs in a worker thread of the
 * shared decode pool (decodePool.ts), so the event loop only waits for the answer.
 */
import { isVoicemoodError } from '../domain/errors.ts';
import { Deadline } from './deadline.ts';
import { decodePool } from './decodePool.ts';
import { type DetectedFormat, detectFormat } from './detect.ts';
import { checkSize, resolveLimits } from './limits.ts';
import type { DecodedAudio, DecodeOptions } from './types.ts';

export { detectFormat, type DetectedFormat };
export { decodeInThread } from './decodeInThread.ts';

export async function decodeAudio(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedAudio> {
  const limits = resolveLimits(options.limits);
  checkSize(bytes.length, limits);
  const deadline = new Deadline(limits.timeoutMs, options.signal);
  deadline.check();
  const sent = {
    limits,
    ...(options.filename !== undefined ? { filename: options.filename } : {}),
    ...(options.mimeType !== undefined ? { mimeType: options.mimeType } : {}),
  };
  try {
    return await decodePool().decode(bytes, sent, options.signal, options.transfer === true);
  } catch (e) {
    if (isVoicemoodError(e) && e.details.ffmpegStderr !== undefined) {
      options.logger?.warn({ format: e.details.format, ffmpegStderr: e.details.ffmpegStderr }, 'ffmpeg could not decode an input');
    }
    throw e;
  }
}
