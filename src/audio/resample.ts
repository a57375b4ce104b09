/**
 * Down-mix to mono and resample to 16 kHz, incrementally, with a bound on memory.
 *
 * Resampling is band-limited (a real anti-aliasing filter; linear interpolation would fold
 * everything above 8 kHz back into the speech band): our polyphase Kaiser-sinc filter
 * (polyphase.ts) for every rate with a small rational ratio to 16 kHz — all the usual ones —
 * and libsamplerate (SRC_SINC_MEDIUM_QUALITY) for the odd rest.
 */
import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { VoicemoodError } from '../domain/errors.ts';
import { SAMPLE_RATE } from '../domain/audio.ts';
import { tooLong } from './limits.ts';
import { PolyphaseResampler, designPolyphase, type PolyphaseDesign } from './polyphase.ts';
import type { AudioLimits } from './types.ts';

const { create, ConverterType } = libsamplerate;

/** Sample rates outside this range are not plausible audio (libsamplerate-js accepts up to 192 kHz). */
export const MIN_SOURCE_RATE = 1000;
export const MAX_SOURCE_RATE = 192_000;

type Src = Awaited<ReturnType<typeof create>>;

/** Converts mono blocks at one rate to 16 kHz. */
interface Converter {
  push(block: Float32Array): Float32Array;
  /** The rest, so that the total is round(input frames · 16000 / rate). */
  finish(): Float32Array;
  dispose(): void;
}

const designs = new Map<number, PolyphaseDesign | undefined>();
const MAX_DESIGNS = 16;

function design(inRate: number): PolyphaseDesign | undefined {
  if (!designs.has(inRate)) {
    if (designs.size >= MAX_DESIGNS) designs.delete(designs.keys().next().value!);
    designs.set(inRate, designPolyphase(inRate, SAMPLE_RATE));
  }
  return designs.get(inRate);
}

/**
 * Idle libsamplerate converters for reuse (only for rates without a small rational ratio):
 * each owns an instance that takes ~20 ms to create, while re-initialising one for another rate
 * (the inputSampleRate setter) is cheap and resets it.
 */
const idle: Src[] = [];
const MAX_IDLE = 2;

async function libsamplerateConverter(inRate: number): Promise<Converter> {
  let src: Src | undefined = idle.pop();
  if (src)
    src.inputSampleRate = inRate; // re-initialises the converter: no state from the last use
  else src = await create(1, inRate, SAMPLE_RATE, { converterType: ConverterType.SRC_SINC_MEDIUM_QUALITY });
  let inFrames = 0;
  let outFrames = 0;
  const dispose = () => {
    if (!src) return;
    if (idle.length < MAX_IDLE) idle.push(src);
    else src.destroy();
    src = undefined;
  };
  return {
    push(block) {
      inFrames += block.length;
      const out = src!.full(block);
      outFrames += out.length;
      return out;
    },
    finish() {
      const expected = Math.round((inFrames * SAMPLE_RATE) / inRate);
      const parts: Float32Array[] = [];
      // The sinc filter holds back its tail: feed silence until every expected sample came out.
      for (let i = 0; outFrames < expected && i < 8; i++) {
        const out = src!.full(new Float32Array(Math.max(256, Math.round(inRate / 20))));
        parts.push(out);
        outFrames += out.length;
      }
      dispose();
      const tail = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        tail.set(p, at);
        at += p.length;
      }
      return tail;
    },
    dispose,
  };
}

function polyphaseConverter(d: PolyphaseDesign): Converter {
  const r = new PolyphaseResampler(d);
  return { push: (block) => r.push(block), finish: () => r.finish(), dispose: () => undefined };
}

export class MonoResampler {
  readonly inRate: number;
  readonly #limits: AudioLimits;
  readonly #maxInFrames: number;
  readonly #maxOut: number;
  #converter: Converter | undefined;
  #pending: Float32Array;
  #pendingLength = 0;
  #inFrames = 0;
  #out: Float32Array;
  #outLength = 0;

  private constructor(inRate: number, limits: AudioLimits, converter: Converter | undefined, expectedFrames: number) {
    this.inRate = inRate;
    this.#limits = limits;
    this.#converter = converter;
    this.#maxInFrames = Math.ceil(limits.maxDecodeS * inRate);
    this.#maxOut = Math.ceil(limits.maxDecodeS * SAMPLE_RATE) + SAMPLE_RATE;
    this.#pending = new Float32Array(Math.max(1024, Math.round(inRate / 2)));
    const estimate = Math.ceil((Math.min(expectedFrames, this.#maxInFrames) * SAMPLE_RATE) / inRate) + 1024;
    this.#out = new Float32Array(Math.min(this.#maxOut, Math.max(SAMPLE_RATE, estimate)));
  }

  /** expectedFrames: a size hint (source frames) so that the output is allocated once. */
  static async open(inRate: number, limits: AudioLimits, expectedFrames = 0): Promise<MonoResampler> {
    if (!(inRate >= MIN_SOURCE_RATE && inRate <= MAX_SOURCE_RATE) || !Number.isInteger(inRate)) {
      throw new VoicemoodError(
        'undecodable',
        `The audio claims a sample rate of ${inRate} Hz; rates from ${MIN_SOURCE_RATE} Hz to ${MAX_SOURCE_RATE / 1000} kHz are supported.`,
        { details: { sampleRate: inRate } },
      );
    }
    let converter: Converter | undefined;
    if (inRate !== SAMPLE_RATE) {
      const d = design(inRate);
      converter = d ? polyphaseConverter(d) : await libsamplerateConverter(inRate);
    }
    return new MonoResampler(inRate, limits, converter, expectedFrames);
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

  /** The whole 16 kHz signal; exactly round(inputFrames · 16000 / inRate) samples, in [-1, 1]. */
  finish(): Float32Array {
    this.#flushPending();
    if (this.#converter) this.#append(this.#converter.finish());
    this.dispose();
    const expected = Math.round((this.#inFrames * SAMPLE_RATE) / this.inRate);
    const out = this.#out.slice(0, Math.min(expected, this.#outLength));
    // A band-limited filter rings (Gibbs) around clipped peaks; keep the [-1, 1] contract.
    for (let i = 0; i < out.length; i++) {
      if (out[i] > 1) out[i] = 1;
      else if (out[i] < -1) out[i] = -1;
    }
    return out;
  }

  /** Releases the converter; safe to call more than once. */
  dispose(): void {
    this.#converter?.dispose();
    this.#converter = undefined;
  }

  #flushPending(): void {
    if (this.#pendingLength === 0) return;
    const chunk = this.#pending.subarray(0, this.#pendingLength);
    this.#append(this.#converter ? this.#converter.push(chunk) : chunk);
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
