/**
 * A streaming polyphase resampler for rational ratios (48 kHz → 16 kHz is 1:3, 44.1 kHz is
 * 160:441): a Kaiser-windowed sinc low-pass (100 dB stop band, pass band to 90 % of the lower
 * Nyquist, stop band from the lower Nyquist on, so nothing folds back), evaluated only at the
 * output instants. Measured here about twice as fast as libsamplerate-js SRC_SINC_MEDIUM_QUALITY
 * (which is compiled to plain JS), and as clean (7 kHz tone at 44.1 kHz: no spurious component
 * above -130 dB, see test/audio/resample.test.ts). Output n is aligned with input time n · M / L: no delay to compensate.
 */

const STOPBAND_DB = 100;
const PASSBAND = 0.9;
/** Ratios whose reduced numerator needs more phases than this use the fallback resampler. */
export const MAX_PHASES = 2048;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (series; converges fast for β ≤ 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

export interface PolyphaseDesign {
  /** Up factor L and down factor M: output rate = input rate · L / M. */
  up: number;
  down: number;
  /** Taps per phase (a multiple of 4). */
  taps: number;
  /** [phase][tap] coefficients, phase-major; tap t multiplies input base − taps/2 + 1 + t. */
  table: Float32Array;
}

/** The ratio in lowest terms, or undefined when it needs more than MAX_PHASES phases. */
export function rationalRatio(inRate: number, outRate: number): { up: number; down: number } | undefined {
  const g = gcd(inRate, outRate);
  const up = outRate / g;
  const down = inRate / g;
  return up <= MAX_PHASES ? { up, down } : undefined;
}

export function designPolyphase(inRate: number, outRate: number): PolyphaseDesign | undefined {
  const ratio = rationalRatio(inRate, outRate);
  if (!ratio) return undefined;
  const nyquist = Math.min(inRate, outRate) / 2;
  const passHz = PASSBAND * nyquist;
  const cutoffHz = (passHz + nyquist) / 2; // -6 dB point, mid transition
  const transitionHz = nyquist - passHz;
  // Kaiser's formulas: β for the stop-band depth, length for the transition width (in input samples).
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  const span = (STOPBAND_DB - 7.95) / (2.285 * 2 * Math.PI * (transitionHz / inRate));
  const taps = 4 * Math.ceil(span / 4); // a multiple of 4 for the unrolled inner loop
  const half = taps / 2;
  const { up } = ratio;
  const table = new Float32Array(up * taps);
  const fc = cutoffHz / inRate; // cycles per input sample
  const i0beta = besselI0(beta);
  for (let phase = 0; phase < up; phase++) {
    const frac = phase / up;
    let sum = 0;
    for (let t = 0; t < taps; t++) {
      const offset = t - half + 1; // input index relative to base
      const x = frac - offset; // time from that input sample to the output instant
      const r = x / half;
      const w = Math.abs(r) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - r * r)) / i0beta;
      const s = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
      table[phase * taps + t] = s * w;
      sum += s * w;
    }
    // Unity gain at DC for every phase (removes the tiny per-phase ripple of the truncated sinc).
    for (let t = 0; t < taps; t++) table[phase * taps + t] /= sum;
  }
  return { ...ratio, taps, table };
}

/** Streaming state: push input blocks, pull output; finish() flushes with silence. */
export class PolyphaseResampler {
  readonly #d: PolyphaseDesign;
  /** Input not yet consumed, starting at absolute input index #bufStart. */
  #buf: Float32Array;
  #bufLen = 0;
  #bufStart: number;
  /** Next output index. */
  #n = 0;
  #inFrames = 0;

  constructor(design: PolyphaseDesign) {
    this.#d = design;
    this.#buf = new Float32Array(Math.max(4096, design.taps * 4));
    // Inputs before index 0 are silence: start the buffer with taps/2 zeros.
    this.#bufStart = -design.taps / 2;
    this.#bufLen = design.taps / 2;
  }

  /** Appends mono input; returns the outputs that are now complete. */
  push(input: Float32Array): Float32Array {
    this.#append(input);
    this.#inFrames += input.length;
    return this.#drain(Infinity);
  }

  /** The remaining outputs, so that the total is round(inputFrames · L / M). */
  finish(): Float32Array {
    const total = Math.round((this.#inFrames * this.#d.up) / this.#d.down);
    this.#append(new Float32Array(this.#d.taps)); // silence after the end
    return this.#drain(total);
  }

  #append(input: Float32Array): void {
    if (this.#bufLen + input.length > this.#buf.length) {
      const grown = new Float32Array(Math.max(this.#buf.length * 2, this.#bufLen + input.length));
      grown.set(this.#buf.subarray(0, this.#bufLen));
      this.#buf = grown;
    }
    this.#buf.set(input, this.#bufLen);
    this.#bufLen += input.length;
  }

  #drain(limit: number): Float32Array {
    const { up, down, taps, table } = this.#d;
    const half = taps / 2;
    const end = this.#bufStart + this.#bufLen; // first absolute index not in the buffer
    // Output n needs inputs up to floor(n·down/up) + half, i.e. floor(n·down/up) ≤ X.
    const X = end - 1 - half;
    const last = Math.floor(((X + 1) * up - 1) / down); // the highest such n
    const stop = Math.min(limit, last + 1);
    const count = Math.max(0, stop - this.#n);
    const out = new Float32Array(count);
    const buf = this.#buf;
    for (let k = 0; k < count; k++) {
      const n = this.#n + k;
      const pos = n * down;
      const base = Math.floor(pos / up);
      const phase = pos - base * up;
      const first = base - half + 1 - this.#bufStart; // buffer index of tap 0
      const row = phase * taps;
      // Four partial sums: independent additions pipeline better than one long chain.
      let a0 = 0,
        a1 = 0,
        a2 = 0,
        a3 = 0;
      for (let t = 0; t < taps; t += 4) {
        a0 += buf[first + t] * table[row + t];
        a1 += buf[first + t + 1] * table[row + t + 1];
        a2 += buf[first + t + 2] * table[row + t + 2];
        a3 += buf[first + t + 3] * table[row + t + 3];
      }
      out[k] = a0 + a1 + a2 + a3;
    }
    this.#n += count;
    // Drop input no longer needed by the next output.
    const nextFirst = Math.floor((this.#n * down) / up) - half + 1 - this.#bufStart;
    if (nextFirst > 0) {
      buf.copyWithin(0, nextFirst, this.#bufLen);
      this.#bufLen -= nextFirst;
      this.#bufStart += nextFirst;
    }
    return out;
  }
}
