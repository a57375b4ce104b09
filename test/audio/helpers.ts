/** Test helpers for the audio layer: WAV synthesis, spectra, signal comparison, a fake engine. */
import { readFileSync } from 'node:fs';
import { EMOTIONS, namedScores, topEmotion } from '../../src/domain/emotions.ts';
import type { EmotionEngine, EmotionResult, ModelInfo } from '../../src/inference/types.ts';

export const FIXTURES = new URL('../fixtures/audio/', import.meta.url);
export const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIXTURES)));
export const fixturePath = (name: string): string => new URL(name, FIXTURES).pathname;

export type SampleEncoding = 'u8' | 's16' | 's24' | 's32' | 'f32' | 'f64';
const BYTES: Record<SampleEncoding, number> = { u8: 1, s16: 2, s24: 3, s32: 4, f32: 4, f64: 8 };

/**
 * A WAV file from per-channel float signals. `extensible` writes WAVE_FORMAT_EXTENSIBLE;
 * `extraChunks` go between "fmt " and "data" (LIST, odd sizes …).
 */
export function makeWav(
  channels: Float32Array[],
  rate: number,
  enc: SampleEncoding,
  options: { extensible?: boolean; extraChunks?: { id: string; body: Uint8Array }[]; claimedDataBytes?: number } = {},
): Uint8Array {
  const bps = BYTES[enc];
  const frames = channels[0].length;
  const nch = channels.length;
  const dataBytes = frames * nch * bps;
  const isFloat = enc === 'f32' || enc === 'f64';
  const fmtSize = options.extensible ? 40 : 16;
  const extra = (options.extraChunks ?? []).reduce((s, c) => s + 8 + c.body.length + (c.body.length & 1), 0);
  const total = 12 + 8 + fmtSize + extra + 8 + dataBytes;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  ascii(0, 'RIFF');
  v.setUint32(4, total - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, fmtSize, true);
  v.setUint16(20, options.extensible ? 0xfffe : isFloat ? 3 : 1, true);
  v.setUint16(22, nch, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * nch * bps, true);
  v.setUint16(32, nch * bps, true);
  v.setUint16(34, bps * 8, true);
  let pos = 36;
  if (options.extensible) {
    v.setUint16(36, 22, true);
    v.setUint16(38, bps * 8, true);
    v.setUint32(40, 0, true);
    v.setUint16(44, isFloat ? 3 : 1, true); // SubFormat GUID, first two bytes
    out.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 46);
    pos = 60;
  }
  for (const c of options.extraChunks ?? []) {
    ascii(pos, c.id);
    v.setUint32(pos + 4, c.body.length, true);
    out.set(c.body, pos + 8);
    pos += 8 + c.body.length + (c.body.length & 1);
  }
  ascii(pos, 'data');
  v.setUint32(pos + 4, options.claimedDataBytes ?? dataBytes, true);
  pos += 8;
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < nch; c++) {
      const x = Math.max(-1, Math.min(1, channels[c][f]));
      const at = pos + (f * nch + c) * bps;
      switch (enc) {
        case 'u8':
          v.setUint8(at, Math.round(x * 127) + 128);
          break;
        case 's16':
          v.setInt16(at, Math.round(x * 32767), true);
          break;
        case 's24': {
          const n = Math.round(x * 8388607);
          v.setUint8(at, n & 0xff);
          v.setUint8(at + 1, (n >> 8) & 0xff);
          v.setInt8(at + 2, n >> 16);
          break;
        }
        case 's32':
          v.setInt32(at, Math.round(x * 2147483647), true);
          break;
        case 'f32':
          v.setFloat32(at, channels[c][f], true);
          break;
        case 'f64':
          v.setFloat64(at, channels[c][f], true);
          break;
      }
    }
  }
  return out;
}

export function tone(freq: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** Deterministic noise in [-a, a]. */
export function noise(n: number, amplitude: number, seed = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 0xffffffff) * 2 - 1) * amplitude;
  }
  return out;
}

/** Magnitude spectrum (dB re. the largest bin) of a 4-term Blackman–Harris-windowed block of 2^k samples. */
export function spectrumDb(x: Float32Array, size: number): Float64Array {
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const t = (2 * Math.PI * i) / (size - 1);
    const w = 0.35875 - 0.48829 * Math.cos(t) + 0.14128 * Math.cos(2 * t) - 0.01168 * Math.cos(3 * t);
    re[i] = (x[i] ?? 0) * w;
  }
  // iterative radix-2 FFT
  for (let i = 1, j = 0; i < size; i++) {
    let bit = size >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= size; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    for (let i = 0; i < size; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const cr = Math.cos(ang * k),
          ci = Math.sin(ang * k);
        const ar = re[i + k + len / 2],
          ai = im[i + k + len / 2];
        const tr = ar * cr - ai * ci,
          ti = ar * ci + ai * cr;
        re[i + k + len / 2] = re[i + k] - tr;
        im[i + k + len / 2] = im[i + k] - ti;
        re[i + k] += tr;
        im[i + k] += ti;
      }
    }
  }
  const half = size / 2;
  const mag = new Float64Array(half);
  let max = 0;
  for (let i = 0; i < half; i++) {
    mag[i] = Math.hypot(re[i], im[i]);
    max = Math.max(max, mag[i]);
  }
  for (let i = 0; i < half; i++) mag[i] = 20 * Math.log10(mag[i] / max + 1e-300);
  return mag;
}

/** Highest level (dB re. peak) outside ±guardHz of `freq`. */
export function spuriousDb(spec: Float64Array, rate: number, freq: number, guardHz: number): number {
  const hzPerBin = rate / (2 * spec.length);
  let worst = -Infinity;
  for (let i = 1; i < spec.length; i++) if (Math.abs(i * hzPerBin - freq) > guardHz) worst = Math.max(worst, spec[i]);
  return worst;
}

/** Frequency of the strongest bin. */
export function peakHz(spec: Float64Array, rate: number): number {
  let best = 0;
  for (let i = 1; i < spec.length; i++) if (spec[i] > spec[best]) best = i;
  return (best * rate) / (2 * spec.length);
}

export function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}

/** Pearson correlation of two equally long arrays. */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let ma = 0,
    mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] - ma,
      y = b[i] - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return sab / Math.sqrt(saa * sbb || 1);
}

/** Best waveform correlation over lags of up to ±maxLag samples (codec delays). */
export function bestCorrelation(a: Float32Array, b: Float32Array, maxLag: number): number {
  let best = -1;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const x = lag >= 0 ? a.subarray(lag) : a;
    const y = lag >= 0 ? b : b.subarray(-lag);
    best = Math.max(best, correlation(x, y));
  }
  return best;
}

/** RMS envelope in 20 ms frames (at 16 kHz). */
export function envelope(x: Float32Array, frame = 320): Float64Array {
  const out = new Float64Array(Math.floor(x.length / frame));
  for (let f = 0; f < out.length; f++) out[f] = rms(x.subarray(f * frame, (f + 1) * frame));
  return out;
}

export function modelInfo(id = 'fake'): ModelInfo {
  return {
    labelsEn: [...EMOTIONS],
    labelsZh: [...EMOTIONS],
    sampleRate: 16000,
    frameRate: 50,
    embedDim: 4,
    sourceModel: id,
    sourceRevision: 'test',
    checkpointSha256: '0'.repeat(64),
    converterVersion: 'test',
    quantization: 'fp32',
    convSpec: [],
    path: '/dev/null',
    id,
  };
}

/**
 * A deterministic stand-in for the engine (unit tests of the layers above it): scores follow
 * the clip's loudness, so that two different clips get different answers; one frame per 20 ms.
 */
export function fakeEngine(options: { capacity?: number; onAnalyze?: (samples: Float32Array) => void } = {}): EmotionEngine & { calls: Float32Array[] } {
  const calls: Float32Array[] = [];
  return {
    calls,
    model: modelInfo(),
    load: () => ({ inFlight: 0, queued: 0, capacity: options.capacity ?? 4 }),
    close: async () => undefined,
    async analyze(samples, opts = {}): Promise<EmotionResult> {
      calls.push(samples);
      options.onAnalyze?.(samples);
      const loud = Math.min(1, rms(samples) * 4);
      const row = EMOTIONS.map((_, i) => (i === 3 ? 1 + 8 * loud : i === 6 ? 9 - 8 * loud : 1));
      const sum = row.reduce((a, b) => a + b, 0);
      const scores = namedScores(row.map((x) => x / sum));
      const { emotion, confidence } = topEmotion(scores);
      const embedding = new Float32Array([loud, samples.length / 16000, 1, -1]);
      const result: EmotionResult = { emotion, confidence, scores, logits: row.map(Math.log), embedding, durationS: samples.length / 16000, model: 'fake' };
      if (opts.frames) {
        const count = Math.floor(samples.length / 320);
        const fs = new Float32Array(count * 9);
        const fe = new Float32Array(count * 4);
        for (let t = 0; t < count; t++) {
          const l = Math.min(1, rms(samples.subarray(t * 320, (t + 1) * 320)) * 4);
          for (let k = 0; k < 9; k++) fs[t * 9 + k] = k === 3 ? l : k === 6 ? 1 - l : 0;
          fe.set([l, t, 0, 1], t * 4);
        }
        result.frames = { count, dim: 4, frameRate: 50, embeddings: fe, scores: fs };
      }
      return result;
    },
  };
}
