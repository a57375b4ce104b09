/** Small statistics for noisy timings: the median is what we report, the minimum shows the floor. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A deterministic speech-like test signal: a few drifting harmonics plus noise, amplitude ~0.3. */
export function testClip(seconds: number, seed = 1): Float32Array {
  const n = Math.round(seconds * 16000);
  const out = new Float32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    const t = i / 16000;
    const f0 = 140 + 40 * Math.sin(2 * Math.PI * 0.7 * t + seed);
    out[i] = 0.2 * Math.sin(2 * Math.PI * f0 * t) + 0.08 * Math.sin(2 * Math.PI * 3 * f0 * t) + 0.02 * (a / 2 ** 32 - 0.5);
  }
  return out;
}
