/**
 * OGG/Opus (Telegram voice notes, Discord recordings) in-process: our own page walker splits the
 * pages into Opus packets and the project's one Opus decoder (opus.ts, libopus from opusscript as
 * WebAssembly) turns them into 48 kHz PCM. No process is spawned, and any number of decodes may run
 * at once (prism-media's decoder over opusscript's wrapper corrupted its heap beyond ~18).
 */
import { VoicemoodError, isVoicemoodError } from '../domain/errors.ts';
import type { Deadline } from './deadline.ts';
import { formatSeconds, tooLong } from './limits.ts';
import { OPUS_RATE, OpusDecoder } from './opus.ts';
import { MonoResampler } from './resample.ts';
import type { AudioLimits, DecodedAudio } from './types.ts';

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
  // The cause's own text (a decoder's message) is for logs, never part of the sentence.
  const details = { format: 'ogg/opus', ...(cause !== undefined ? { cause: cause instanceof Error ? cause.message : JSON.stringify(cause) } : {}) };
  return new VoicemoodError('undecodable', `This looks like an OGG/Opus voice note, but ${why}`, { details, cause });
}

/** Thrown by the page walker on a page that breaks the Ogg structure. */
class DamagedPage extends Error {}

/**
 * The packets of the first logical stream (the one whose first page holds OpusHead), in order.
 * Pages of other streams are skipped; a packet cut off by the end of the bytes is not returned
 * (scanOggPages reports the truncation).
 */
export function* oggPackets(bytes: Uint8Array): Generator<Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let serial: number | undefined;
  let pending: Uint8Array[] = [];
  let pos = 0;
  while (pos + 27 <= bytes.length) {
    if (bytes[pos] !== 0x4f || bytes[pos + 1] !== 0x67 || bytes[pos + 2] !== 0x67 || bytes[pos + 3] !== 0x53) throw new DamagedPage('capture pattern');
    if (bytes[pos + 4] !== 0) throw new DamagedPage('stream structure version');
    const pageSerial = view.getUint32(pos + 14, true);
    const segments = bytes[pos + 26];
    let at = pos + 27 + segments;
    if (at > bytes.length) return;
    serial ??= pageSerial;
    const mine = pageSerial === serial;
    if (mine && (bytes[pos + 5] & 1) === 0) pending = []; // not a continuation: a half packet before it is dropped
    for (let i = 0; i < segments; i++) {
      const lace = bytes[pos + 27 + i];
      if (at + lace > bytes.length) return;
      if (mine) {
        pending.push(bytes.subarray(at, at + lace));
        if (lace < 255) {
          yield pending.length === 1 ? pending[0] : concat(pending);
          pending = [];
        }
      }
      at += lace;
    }
    pos = at;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Packets decoded between two turns of the event loop (so that an abort message can arrive). */
const PACKETS_PER_TURN = 250;

export async function decodeOggOpus(bytes: Uint8Array, head: OpusHead, limits: AudioLimits, deadline: Deadline): Promise<DecodedAudio> {
  const channels = head.channels as 1 | 2;
  const pages = scanOggPages(bytes);
  // The container tells the duration (last granule position minus pre-skip): refuse before decoding.
  if (pages.lastGranule !== undefined && (pages.lastGranule - head.preSkip) / OPUS_RATE > limits.maxDecodeS) {
    throw tooLong((pages.lastGranule - head.preSkip) / OPUS_RATE, limits);
  }
  const resampler = await MonoResampler.open(OPUS_RATE, limits, Math.min(bytes.length * 100, limits.maxDecodeS * OPUS_RATE));
  const decoder = new OpusDecoder(channels);
  const gain = head.gainDb === 0 ? 1 : 10 ** (head.gainDb / 20);
  let skip = head.preSkip; // encoder delay, in frames at 48 kHz
  // The last page's granule position counts pre-skip plus the real samples: the rest is padding.
  let remaining = pages.lastGranule !== undefined && pages.lastGranule > head.preSkip ? pages.lastGranule - head.preSkip : Infinity;
  let packets = 0;
  let index = 0;
  try {
    for (const packet of oggPackets(bytes)) {
      if (index++ < 2) continue; // OpusHead, OpusTags
      // The last granule position says where the audio ends: later packets are padding, not decoded
      // (else a small claim over hours of packets would keep a decode worker busy until the deadline).
      if (remaining <= 0) break;
      if (packets % PACKETS_PER_TURN === PACKETS_PER_TURN - 1) await new Promise<void>((r) => setImmediate(r));
      deadline.check();
      packets++;
      if (packet.length === 0) continue; // a zero-length packet is a lost frame (no audio to emit here)
      let pcm: Int16Array;
      try {
        pcm = decoder.decode(packet);
      } catch (e) {
        throw undecodable('an Opus packet in it is damaged.', e);
      }
      const frames = pcm.length / channels;
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
    if (e instanceof DamagedPage) throw undecodable('its Ogg pages are damaged (a page does not start with "OggS").', e);
    throw undecodable('decoding it failed.', e);
  } finally {
    resampler.dispose();
    decoder.destroy();
  }
}
