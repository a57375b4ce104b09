/**
 * The decode itself, on the calling thread: bytes in any common format → 16 kHz mono float32.
 * The format comes from the bytes; WAV and OGG/Opus are decoded in-process, the rest by ffmpeg.
 * The decode workers (decodeWorker.ts) run this; everyone else calls decodeAudio (decode.ts),
 * which sends it to a worker so that the event loop never waits for a decode.
 */
import { extname } from 'node:path';
import { VoicemoodError, isVoicemoodError } from '../domain/errors.ts';
import { Deadline } from './deadline.ts';
import { decodeWav } from './decodeWav.ts';
import { detectFormat } from './detect.ts';
import { decodeWithFfmpeg } from './ffmpeg.ts';
import { checkSize, resolveLimits } from './limits.ts';
import { decodeOggOpus, opusInProcess, readOpusHead } from './oggOpus.ts';
import type { DecodedAudio, DecodeOptions } from './types.ts';
import { UnsupportedWavCodec } from './wav.ts';

function nameHint(options: DecodeOptions): string {
  const ext = options.filename ? extname(options.filename).toLowerCase() : '';
  if (ext) return ` (its name ends in ${ext}, but the bytes decide)`;
  if (options.mimeType) return ` (it was sent as ${options.mimeType}, but the bytes decide)`;
  return '';
}

/** `deadline` defaults to one of `limits.timeoutMs` from now, with `options.signal`. */
export async function decodeInThread(bytes: Uint8Array, options: DecodeOptions = {}, deadline?: Deadline): Promise<DecodedAudio> {
  const limits = resolveLimits(options.limits);
  checkSize(bytes.length, limits);
  deadline ??= new Deadline(limits.timeoutMs, options.signal);
  deadline.check();
  const format = detectFormat(bytes);
  try {
    switch (format) {
      case 'unknown':
        throw new VoicemoodError('undecodable', `This file does not look like audio: its first bytes match no audio format I know${nameHint(options)}.`, {
          details: { format, filename: options.filename, mimeType: options.mimeType },
        });
      case 'wav':
        try {
          return await decodeWav(bytes, limits, deadline);
        } catch (e) {
          if (e instanceof UnsupportedWavCodec) return await decodeWithFfmpeg(bytes, `wav (codec 0x${e.formatTag.toString(16)})`, limits, deadline);
          throw e;
        }
      case 'ogg/opus': {
        const head = readOpusHead(bytes);
        if (opusInProcess(head)) return await decodeOggOpus(bytes, head, limits, deadline);
        if (!head) throw new VoicemoodError('undecodable', 'This looks like an OGG/Opus file, but its OpusHead header is cut short.', { details: { format } });
        return await decodeWithFfmpeg(bytes, format, limits, deadline);
      }
      default:
        return await decodeWithFfmpeg(bytes, format, limits, deadline);
    }
  } catch (e) {
    if (isVoicemoodError(e)) throw e;
    // The cause's text may name server paths: logs only.
    throw new VoicemoodError('undecodable', `This looks like ${format.toUpperCase()}, but decoding it failed.`, {
      details: { format, cause: e instanceof Error ? e.message : String(e) },
      cause: e,
    });
  }
}
