/**
 * ALiBi slopes as data2vec 2.0 / FunASR compute them (`get_slopes` of fairseq's ALiBi):
 * for H a power of two, slope[h] = start ** (h + 1) with start = 2 ** -(2 ** -(log2(H) - 3));
 * otherwise, with P the largest power of two below H, the P slopes for P followed by the first
 * H - P of the even-indexed slopes for 2P (slopes(2P)[0::2]).
 * Computed in double precision, as Python does, before the model rounds them to float32.
 */
export function alibiSlopes(heads: number): number[] {
  if (!Number.isInteger(heads) || heads < 1) throw new RangeError(`heads must be a positive integer, got ${heads}`);
  const powerOfTwo = (n: number): number[] => {
    const start = 2 ** -(2 ** -(Math.log2(n) - 3));
    return Array.from({ length: n }, (_, i) => start * start ** i);
  };
  if (Number.isInteger(Math.log2(heads))) return powerOfTwo(heads);
  const p = 2 ** Math.floor(Math.log2(heads));
  const everyOther = alibiSlopes(2 * p).filter((_, i) => i % 2 === 0);
  return [...powerOfTwo(p), ...everyOther.slice(0, heads - p)];
}
