/**
 * Down-mix to mono and resample to 16 kHz, incrementally, with a bound on memory.
 *
 * Resampling uses libsamplerate (SRC_SINC_MEDIUM_QUALITY: a band-limited sinc interpolator,
 * i.e. a real anti-aliasing filter; 90 % bandwidth). Linear interpolation would fold
 * everything above 8 kHz back into the speech band.
 */
import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { VoicemoodError } from '../errors.ts';
import { SAMPLE_RATE } from '../inference/types.ts';
import { tooLong } from './limits.ts';
import type { AudioLimits } from './types.ts';

const { create, ConverterType } = libsamplerate;

/** Sample rates outside this range are not plausible audio (libsamplerate-js accepts up to 192 kHz). */
export const MIN_SOURCE_RATE = 1000;
export const MAX_SOURCE_RATE = 192_000;

type Src = Awaited<ReturnType<typeof create>>;

/**
 * Idle converters for reuse: each one owns a WebAssembly instance that takes ~20 ms to create,
 * while re-initialising it for another rate (the inputSampleRate setter) is cheap and resets it.
 */
const idle: Src[] = [];
const MAX_IDLE = 4;

async function acquire(inRate: number): Promise<Src> {
  const src = idle.pop();
  if (!src) return create(1, inRate, SAMPLE_RATE, { converterType: ConverterType.SRC_SINC_MEDIUM_QUALITY });
  src.inputSampleRate = inRate; // re-initialises the converter: no state from the last use
  return src;
}

function release(src: Src): void {
  if (idle.length < MAX_IDLE) idle.push(src);
  else src.destroy();
}

export class MonoResampler {
  readonly inRate: number;
  readonly #limits: AudioLimits;
  readonly #maxInFrames: number;
  readonly #maxOut: number;
  #src: Src | undefined;
  #pending: Float32Array;
  #pendingLength = 0;
  #inFrames = 0;
  #out: Float32Array;
  #outLength = 0;

  private constructor(inRate: number, limits: AudioLimits, src: Src | undefined, expectedFrames: number) {
    this.inRate = inRate;
    this.#limits = limits;
    this.#src = src;
    this.#maxInFrames = Math.ceil(limits.maxDecodeS * inRate);
    this.#maxOut = Math.ceil(limits.maxDecodeS * SAMPLE_RATE) + SAMPLE_RATE;
    this.#pending = new Float32Array(Math.max(1024, Math.round(inRate / 2)));
    const estimate = Math.ceil((Math.min(expectedFrames, this.#maxInFrames) * SAMPLE_RATE) / inRate) + 1024;
    this.#out = new Float32Array(Math.min(this.#maxOut, Math.max(SAMPLE_RATE, estimate)));
  }

  /** expectedFrames: a size hint (source frames) so that the output is allocated once. */
  static async open(inRate: number, limits: AudioLimits, expectedFrames = 0): Promise<MonoResampler> {
    if (!(inRate >= MIN_SOURCE_RATE && inRate <= MAX_SOURCE_RATE) || !Number.isInteger(inRate)) {
      throw new VoicemoodError('undecodable', `The audio claims a sample rate of ${inRate} Hz; rates from ${MIN_SOURCE_RATE} Hz to ${MAX_SOURCE_RATE / 1000} kHz are supported.`, { details: { sampleRate: inRate } });
    }
    const src = inRate === SAMPLE_RATE ? undefined : await acquire(inRate);
    return new MonoResampler(inRate, limits, src, expectedFrames);
  }

  get inputFrames(): number {
    return this.#inFrames;
  }

  /** Adds interleaved frames (any channel count); non-finite values become 0, peaks are clipped to ±1. */
  push(interleaved: Float32Array, channels: number): void {
    const frames = Math.floor(interleaved.length / channels);
    if (this.#inFrames + frames > this.#maxInFrames) throw tooLong((this.#inFrames + frames) / this.inRate, this.#limits);
    this.#inFrames += frames;
    const scale = 1 / channels;
    for (let f = 0; f < frames; f++) {
      let sum = 0;
      const base = f * channels;
      for (let c = 0; c < channels; c++) sum += interleaved[base + c];
      let v = sum * scale;
      if (!(v === v) || v === Infinity || v === -Infinity) v = 0;
      else if (v > 1) v = 1;
      else if (v < -1) v = -1;
      this.#pending[this.#pendingLength++] = v;
      if (this.#pendingLength === this.#pending.length) this.#flushPending();
    }
  }

  /** The whole 16 kHz signal; exactly round(inputFrames · 16000 / inRate) samples. */
  finish(): Float32Array {
    this.#flushPending();
    const expected = Math.round((this.#inFrames * SAMPLE_RATE) / this.inRate);
    // The sinc filter holds back its tail: feed silence until every expected sample came out.
    for (let i = 0; this.#src && this.#outLength < expected && i < 8; i++) {
      this.#append(this.#src.full(new Float32Array(Math.max(256, Math.round(this.inRate / 20)))));
    }
    this.dispose();
    return this.#out.slice(0, Math.min(expected, this.#outLength));
  }

  /** Returns the converter to the pool; safe to call more than once. */
  dispose(): void {
    if (this.#src) release(this.#src);
    this.#src = undefined;
  }

  #flushPending(): void {
    if (this.#pendingLength === 0) return;
    const chunk = this.#pending.subarray(0, this.#pendingLength);
    this.#append(this.#src ? this.#src.full(chunk) : chunk);
    this.#pendingLength = 0;
  }

  #append(data: Float32Array): void {
    const need = this.#outLength + data.length;
    if (need > this.#out.length) {
      if (need > this.#maxOut) throw tooLong(need / SAMPLE_RATE, this.#limits);
      const grown = new Float32Array(Math.min(this.#maxOut, Math.max(need, this.#out.length * 2)));
      grown.set(this.#out.subarray(0, this.#outLength));
      this.#out = grown;
    }
    this.#out.set(data, this.#outLength);
    this.#outLength += data.length;
  }
}
