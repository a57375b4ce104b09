/**
 * WAV in-process: RIFF chunk walk, PCM 8/16/24/32-bit, IEEE float 32/64 and
 * WAVE_FORMAT_EXTENSIBLE, any rate and channel count. Sizes in the header are never trusted
 * beyond the bytes actually present: a header claiming hours allocates nothing extra and waits
 * for nothing.
 */
import { VoicemoodError } from '../domain/errors.ts';
import { MAX_SOURCE_RATE, MIN_SOURCE_RATE } from './resample.ts';

export type WavEncoding = { kind: 'pcm'; bytesPerSample: 1 | 2 | 3 | 4 } | { kind: 'float'; bytesPerSample: 4 | 8 };

export interface WavHeader {
  sampleRate: number;
  channels: number;
  /** Bytes per frame (all channels). */
  blockAlign: number;
  bitsPerSample: number;
  encoding: WavEncoding;
  /** Where the sample data starts. */
  dataOffset: number;
  /** Bytes of sample data the header claims, or undefined when unknown (streamed: 0 or 0xFFFFFFFF). */
  claimedDataBytes: number | undefined;
  /** e.g. "wav/pcm16", "wav/float32", "wav/extensible-pcm24". */
  label: string;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
const MAX_CHANNELS = 64;
/** We read at most this much before the data chunk (metadata chunks are skipped by size). */
const MAX_HEADER_WALK = 1 << 20;

function undecodable(why: string, details: Record<string, unknown> = {}): VoicemoodError {
  return new VoicemoodError('undecodable', `This looks like a WAV file, but ${why}`, { details: { format: 'wav', ...details } });
}

/** Thrown for WAV codecs we leave to ffmpeg (ADPCM, A-law, µ-law, big-endian RIFX …). */
export class UnsupportedWavCodec extends Error {
  readonly formatTag: number;
  constructor(formatTag: number) {
    super(`WAV format tag 0x${formatTag.toString(16)}`);
    this.formatTag = formatTag;
  }
}

function ascii(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
}

/**
 * Parses the header. Returns 'incomplete' when the bytes end before the data chunk starts
 * (callers streaming from ffmpeg wait for more; a whole file is then truncated).
 */
export function parseWavHeader(bytes: Uint8Array): WavHeader | 'incomplete' {
  if (bytes.length < 12) return 'incomplete';
  if (ascii(bytes, 0) === 'RIFX') throw new UnsupportedWavCodec(-1);
  if (ascii(bytes, 0) !== 'RIFF' || ascii(bytes, 8) !== 'WAVE') throw undecodable('its first bytes are not "RIFF…WAVE".');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavHeader, 'dataOffset' | 'claimedDataBytes'> | undefined;
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    if (pos > MAX_HEADER_WALK) throw undecodable('no audio data chunk was found in its first megabyte.');
    const id = ascii(bytes, pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (body + 16 > bytes.length) return 'incomplete';
      fmt = parseFmt(view, body, size);
    } else if (id === 'data') {
      if (!fmt) throw undecodable('its audio data comes before the "fmt " chunk that describes it.');
      const claimed = size === 0 || size === 0xffffffff ? undefined : size;
      return { ...fmt, dataOffset: body, claimedDataBytes: claimed };
    }
    // Chunks are padded to an even size.
    pos = body + size + (size & 1);
  }
  return 'incomplete';
}

function parseFmt(view: DataView, at: number, size: number): Omit<WavHeader, 'dataOffset' | 'claimedDataBytes'> {
  if (size < 16) throw undecodable(`its "fmt " chunk is ${size} bytes, too small to describe audio.`);
  let tag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bitsPerSample = view.getUint16(at + 14, true);
  let extensible = false;
  if (tag === FORMAT_EXTENSIBLE) {
    if (size < 40 || at + 26 > view.byteLength) throw undecodable('its WAVE_FORMAT_EXTENSIBLE header is cut short.');
    tag = view.getUint16(at + 24, true); // first two bytes of the SubFormat GUID
    extensible = true;
  }
  if (tag !== FORMAT_PCM && tag !== FORMAT_FLOAT) throw new UnsupportedWavCodec(tag);
  if (channels < 1 || channels > MAX_CHANNELS) throw undecodable(`its header says it has ${channels} channels.`, { channels });
  if (sampleRate < MIN_SOURCE_RATE || sampleRate > MAX_SOURCE_RATE) throw undecodable(`its header says the sample rate is ${sampleRate} Hz.`, { sampleRate });
  const bytesPerSample = blockAlign / channels;
  if (!Number.isInteger(bytesPerSample)) throw undecodable(`its block size (${blockAlign} bytes) does not fit ${channels} channels.`, { blockAlign, channels });
  if (bitsPerSample > bytesPerSample * 8)
    throw undecodable(`its header says ${bitsPerSample}-bit samples, which do not fit its ${blockAlign}-byte blocks of ${channels} channel(s).`, {
      bitsPerSample,
      blockAlign,
    });
  let encoding: WavEncoding;
  if (tag === FORMAT_FLOAT) {
    if (bytesPerSample !== 4 && bytesPerSample !== 8)
      throw undecodable(`it stores ${bytesPerSample * 8}-bit floats; only 32 and 64 are valid.`, { bitsPerSample });
    encoding = { kind: 'float', bytesPerSample };
  } else {
    if (bytesPerSample < 1 || bytesPerSample > 4)
      throw undecodable(`it stores ${bytesPerSample * 8}-bit integer samples; 8 to 32 are supported.`, { bitsPerSample });
    encoding = { kind: 'pcm', bytesPerSample: bytesPerSample as 1 | 2 | 3 | 4 };
  }
  const bits =
    encoding.kind === 'float'
      ? `float${bytesPerSample * 8}`
      : `pcm${bitsPerSample && bitsPerSample <= bytesPerSample * 8 ? bitsPerSample : bytesPerSample * 8}`;
  return { sampleRate, channels, blockAlign, bitsPerSample, encoding, label: `wav/${extensible ? 'extensible-' : ''}${bits}` };
}

/**
 * Converts `frames` frames starting at `offset` to interleaved float32.
 * Integer samples are left-justified in their container, so dividing by the container's full
 * scale is right for any valid-bits count.
 */
export function samplesToFloat(bytes: Uint8Array, offset: number, frames: number, header: Pick<WavHeader, 'channels' | 'encoding'>): Float32Array {
  const n = frames * header.channels;
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, n * header.encoding.bytesPerSample);
  const enc = header.encoding;
  if (enc.kind === 'float') {
    if (enc.bytesPerSample === 4) for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
    else for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
    return out;
  }
  switch (enc.bytesPerSample) {
    case 1: // 8-bit WAV is unsigned
      for (let i = 0; i < n; i++) out[i] = (view.getUint8(i) - 128) / 128;
      break;
    case 2:
      for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true) / 32768;
      break;
    case 3:
      for (let i = 0; i < n; i++) {
        const v = view.getUint8(i * 3) | (view.getUint8(i * 3 + 1) << 8) | (view.getInt8(i * 3 + 2) << 16);
        out[i] = v / 8388608;
      }
      break;
    case 4:
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true) / 2147483648;
      break;
  }
  return out;
}
