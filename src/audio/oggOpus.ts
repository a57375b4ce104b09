/**
 * OGG/Opus (Telegram voice notes, Discord recordings) in-process: prism-media's OggDemuxer
 * splits the pages into Opus packets, prism-media's opus.Decoder (opusscript, WebAssembly)
 * turns them into 48 kHz PCM. No process is spawned.
 */
import { Readable } from 'node:stream';
import prism from 'prism-media';
import { VoicemoodError, isVoicemoodError } from '../errors.ts';
import type { Deadline } from './deadline.ts';
import { formatSeconds } from './limits.ts';
import { MonoResampler } from './resample.ts';
import type { AudioLimits, DecodedAudio } from './types.ts';

const OPUS_RATE = 48000;

export interface OpusHead {
  channels: number;
  preSkip: number;
  /** Output gain in dB. */
  gainDb: number;
  mappingFamily: number;
}

/** The OpusHead packet of the first page, or undefined when the first page does not hold one. */
export function readOpusHead(bytes: Uint8Array): OpusHead | undefined {
  if (bytes.length < 27) return undefined;
  const start = 27 + bytes[26];
  if (bytes.length < start + 19) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, 19);
  const magic = String.fromCharCode(...bytes.subarray(start, start + 8));
  if (magic !== 'OpusHead') return undefined;
  return { channels: view.getUint8(9), preSkip: view.getUint16(10, true), gainDb: view.getInt16(16, true) / 256, mappingFamily: view.getUint8(18) };
}

/** True when our in-process decoder handles this stream (mono/stereo, channel mapping family 0). */
export function opusInProcess(head: OpusHead | undefined): head is OpusHead {
  return head !== undefined && head.mappingFamily === 0 && (head.channels === 1 || head.channels === 2);
}

/**
 * Walks the page structure without decoding: a last page that runs past the end of the bytes
 * means the file was cut off (the demuxer would silently wait for the rest).
 */
export function scanOggPages(bytes: Uint8Array): { pages: number; truncated: boolean; lastGranule: number | undefined } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let pages = 0;
  let lastGranule: number | undefined;
  while (pos < bytes.length) {
    if (pos + 27 > bytes.length) return { pages, truncated: true, lastGranule };
    if (bytes[pos] !== 0x4f || bytes[pos + 1] !== 0x67 || bytes[pos + 2] !== 0x67 || bytes[pos + 3] !== 0x53) return { pages, truncated: false, lastGranule };
    const segments = bytes[pos + 26];
    if (pos + 27 + segments > bytes.length) return { pages, truncated: true, lastGranule };
    let size = 0;
    for (let i = 0; i < segments; i++) size += bytes[pos + 27 + i];
    const granule = view.getBigInt64(pos + 6, true);
    pos += 27 + segments + size;
    if (pos > bytes.length) return { pages, truncated: true, lastGranule };
    if (granule >= 0n && granule < BigInt(Number.MAX_SAFE_INTEGER)) lastGranule = Number(granule);
    pages++;
  }
  return { pages, truncated: false, lastGranule };
}

function undecodable(why: string, cause?: unknown): VoicemoodError {
  return new VoicemoodError('undecodable', `This looks like an OGG/Opus voice note, but ${why}`, { details: { format: 'ogg/opus' }, cause });
}

export async function decodeOggOpus(bytes: Uint8Array, head: OpusHead, limits: AudioLimits, deadline: Deadline): Promise<DecodedAudio> {
  const channels = head.channels;
  const demuxer = new prism.opus.OggDemuxer();
  const decoder = new prism.opus.Decoder({ rate: OPUS_RATE, channels, frameSize: 960 });
  const pages = scanOggPages(bytes);
  const source = Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)], { objectMode: false });
  const resampler = await MonoResampler.open(OPUS_RATE, limits, Math.min(bytes.length * 100, limits.maxDecodeS * OPUS_RATE));
  const gain = head.gainDb === 0 ? 1 : 10 ** (head.gainDb / 20);
  let skip = head.preSkip; // encoder delay, in frames at 48 kHz
  // The last page's granule position counts pre-skip plus the real samples: the rest is padding.
  let remaining = pages.lastGranule !== undefined && pages.lastGranule > head.preSkip ? pages.lastGranule - head.preSkip : Infinity;
  let packets = 0;
  const onDemuxError = (e: unknown) => decoder.destroy(e instanceof Error ? e : new Error(String(e)));
  source.on('error', onDemuxError);
  demuxer.on('error', onDemuxError);
  source.pipe(demuxer).pipe(decoder);
  try {
    for await (const chunk of decoder as AsyncIterable<Buffer>) {
      deadline.check();
      packets++;
      const frames = chunk.length / (2 * channels);
      const pcm = new Int16Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + frames * 2 * channels));
      const from = Math.min(frames, skip) * channels;
      skip -= from / channels;
      const to = Math.min(pcm.length, from + remaining * channels);
      if (from >= to) continue;
      remaining -= (to - from) / channels;
      const out = new Float32Array(to - from);
      for (let i = 0; i < out.length; i++) out[i] = (pcm[from + i] / 32768) * gain;
      resampler.push(out, channels);
    }
    if (pages.truncated) {
      const got = resampler.inputFrames / OPUS_RATE;
      const where = got > 0 ? `after ${formatSeconds(got)} of audio` : 'before its first complete page of audio';
      throw undecodable(`it is truncated: it ends in the middle of an Ogg page, ${where} (the download or recording was cut off).`);
    }
    if (packets === 0) throw undecodable('it holds no audio packets (the file is empty after its headers).');
    const samples = resampler.finish();
    return { samples, sampleRate: 16000, durationS: samples.length / 16000, format: 'ogg/opus', sourceSampleRate: OPUS_RATE, sourceChannels: channels };
  } catch (e) {
    if (isVoicemoodError(e)) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    if (/capture_pattern|stream_structure_version/.test(msg)) throw undecodable('its Ogg pages are damaged (a page does not start with "OggS").', e);
    throw undecodable(`an Opus packet in it is damaged (${msg}).`, e);
  } finally {
    resampler.dispose();
    source.destroy();
    demuxer.destroy();
    decoder.destroy();
  }
}
