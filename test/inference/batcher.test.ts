import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fcParams } from '../helpers/fuzz.ts';
import { framesFor, minSamplesFor, packBatch, pickBatch, type BatchLimits } from '../../src/inference/batcher.ts';

const PUBLISHED: [number, number, number][] = [
  [512, 10, 5],
  [512, 3, 2],
  [512, 3, 2],
  [512, 3, 2],
  [512, 3, 2],
  [512, 2, 2],
  [512, 2, 2],
];
const limits: BatchLimits = { maxBatch: 4, maxPaddedSamples: 16000 * 40, maxPadRatio: 1.5, padSlackSamples: 16000 };

describe('pickBatch', () => {
  it('keeps similar lengths together and leaves a long clip out of a batch of short ones', () => {
    const s = 16000;
    // oldest 2 s; then 30 s, 2.2 s, 1.8 s, 25 s
    const picked = pickBatch([2 * s, 30 * s, 2.2 * s, 1.8 * s, 25 * s], limits);
    assert.deepEqual(picked, [0, 2, 3]);
  });

  it('always runs the oldest request, even alone above the padded-samples budget', () => {
    assert.deepEqual(pickBatch([16000 * 100, 16000 * 100], limits), [0]);
    assert.deepEqual(pickBatch([], limits), []);
  });

  it('respects maxBatch and the padded-samples budget (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 400, max: 16000 * 60 }), { minLength: 1, maxLength: 40 }), (lengths) => {
        const picked = pickBatch(lengths, limits);
        assert.equal(picked[0], 0, 'the oldest is in');
        assert.equal(new Set(picked).size, picked.length);
        assert.ok(picked.length <= limits.maxBatch);
        const chosen = picked.map((i) => lengths[i]);
        const max = Math.max(...chosen);
        const min = Math.min(...chosen);
        if (picked.length > 1) {
          assert.ok(picked.length * max <= limits.maxPaddedSamples);
          assert.ok(max <= min * limits.maxPadRatio + limits.padSlackSamples);
        }
        assert.deepEqual(
          picked,
          [...picked].sort((a, b) => a - b),
        );
      }),
      fcParams(20261203),
    );
  });
});

describe('packBatch', () => {
  it('zero-pads rows to the longest and records true lengths', () => {
    const p = packBatch([Float32Array.of(1, 2, 3), Float32Array.of(4)]);
    assert.equal(p.rows, 2);
    assert.equal(p.width, 3);
    assert.deepEqual([...p.waveform], [1, 2, 3, 4, 0, 0]);
    assert.deepEqual([...p.lengths], [3n, 1n]);
  });
});

describe('frame arithmetic', () => {
  it('matches the published conv spec: 400 samples make the first frame, 320 samples per frame', () => {
    assert.equal(minSamplesFor(PUBLISHED), 400);
    assert.equal(framesFor(399, PUBLISHED), 0);
    assert.equal(framesFor(400, PUBLISHED), 1);
    assert.equal(framesFor(16000, PUBLISHED), 49);
    assert.equal(framesFor(60901, PUBLISHED), 190); // the reference fixture's input0
  });

  it('minSamplesFor is the exact threshold for any spec (property)', () => {
    const layer = fc.tuple(fc.constant(1), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 6 }));
    fc.assert(
      fc.property(fc.array(layer, { minLength: 1, maxLength: 8 }), (spec) => {
        const m = minSamplesFor(spec);
        assert.equal(framesFor(m, spec), 1);
        if (m > 1) assert.equal(framesFor(m - 1, spec), 0);
      }),
      fcParams(20261204),
    );
  });
});
