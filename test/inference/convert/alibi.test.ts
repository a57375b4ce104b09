import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alibiSlopes } from '../../../src/inference/convert/alibi.ts';

// Values worked out by hand from the formula (docs/emotion2vec.md, step 5):
// H a power of two: start = 2^-(2^-(log2 H - 3)), slope[h] = start^(h+1).
test('power-of-two head counts: geometric slopes from start = 2^(-8/H)', () => {
  assert.deepEqual(alibiSlopes(4), [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8]);
  assert.deepEqual(
    alibiSlopes(8),
    [1, 2, 3, 4, 5, 6, 7, 8].map((i) => 2 ** -i),
  );
  assert.deepEqual(alibiSlopes(1), [2 ** -8]);
  const s16 = alibiSlopes(16);
  assert.equal(s16.length, 16);
  s16.forEach((s, h) => assert.ok(Math.abs(s - 2 ** (-0.5 * (h + 1))) < 1e-15));
});

test('H = 12: the 8 slopes for 8, then slopes(16)[0::2][:4]', () => {
  // slopes(8) = 2^-1 … 2^-8; slopes(16) = 2^-0.5, 2^-1, …; even indices 0, 2, 4, 6 → 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5.
  const expected = [2 ** -1, 2 ** -2, 2 ** -3, 2 ** -4, 2 ** -5, 2 ** -6, 2 ** -7, 2 ** -8, 2 ** -0.5, 2 ** -1.5, 2 ** -2.5, 2 ** -3.5];
  const got = alibiSlopes(12);
  assert.equal(got.length, 12);
  got.forEach((s, h) => assert.ok(Math.abs(s - expected[h]) < 1e-15, `head ${h}: ${s} vs ${expected[h]}`));
});

test('H = 6: the 4 slopes for 4, then slopes(8)[0::2][:2]', () => {
  // slopes(4) = 2^-2, 2^-4, 2^-6, 2^-8; slopes(8)[0::2] = 2^-1, 2^-3, …
  assert.deepEqual(alibiSlopes(6), [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
});

test('H = 3 and H = 5', () => {
  // H = 3: slopes(2) = 2^-4, 2^-8; slopes(4)[0::2][:1] = 2^-2.
  assert.deepEqual(alibiSlopes(3), [2 ** -4, 2 ** -8, 2 ** -2]);
  // H = 5: slopes(4), then slopes(8)[0] = 2^-1.
  assert.deepEqual(alibiSlopes(5), [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1]);
});

test('non-integer or non-positive head counts are rejected', () => {
  assert.throws(() => alibiSlopes(0), RangeError);
  assert.throws(() => alibiSlopes(2.5), RangeError);
});
