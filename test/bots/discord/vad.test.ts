import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fcParams } from '../../helpers/fuzz.ts';
import { VadSegmenter, frameLevelDb, segmentUtterances } from '../../../src/audio/vad.ts';

const RATE = 16000;

/** A signal made of [kind, seconds] parts: 'tone' is a 220 Hz sine at -12 dBFS, 'quiet' is silence. */
function signal(parts: ['tone' | 'quiet', number][]): Float32Array {
  const total = parts.reduce((n, [, s]) => n + Math.round(s * RATE), 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const [kind, s] of parts) {
    const n = Math.round(s * RATE);
    if (kind === 'tone') for (let i = 0; i < n; i++) out[at + i] = 0.35 * Math.sin((2 * Math.PI * 220 * (at + i)) / RATE);
    at += n;
  }
  return out;
}

test('frameLevelDb: full-scale square is 0 dBFS, silence is -Infinity', () => {
  assert.equal(frameLevelDb(new Float32Array(320).fill(1)), 0);
  assert.equal(frameLevelDb(new Float32Array(320)), -Infinity);
});

test('two utterances separated by a long pause are found with their boundaries', () => {
  const s = signal([
    ['quiet', 0.5],
    ['tone', 2],
    ['quiet', 1.5],
    ['tone', 3],
    ['quiet', 1],
  ]);
  const u = segmentUtterances(s);
  assert.equal(u.length, 2);
  // Pre-roll of 100 ms before the onset; the end is the last voiced frame (20 ms grid).
  assert.ok(Math.abs(u[0].startS - 0.4) <= 0.021, `start ${u[0].startS}`);
  assert.ok(Math.abs(u[0].endS - 2.5) <= 0.021, `end ${u[0].endS}`);
  assert.ok(Math.abs(u[1].startS - 3.9) <= 0.021, `start ${u[1].startS}`);
  assert.ok(Math.abs(u[1].endS - 7.0) <= 0.021, `end ${u[1].endS}`);
  assert.equal(u[0].samples.length, u[0].end - u[0].start);
  assert.equal(u[1].cut, false);
});

test('a pause shorter than the hangover stays inside one utterance', () => {
  const u = segmentUtterances(
    signal([
      ['tone', 1],
      ['quiet', 0.3],
      ['tone', 1],
      ['quiet', 1],
    ]),
  );
  assert.equal(u.length, 1);
  assert.ok(Math.abs(u[0].durationS - 2.3) <= 0.021, `duration ${u[0].durationS}`);
});

test('utterances shorter than the minimum are dropped, clicks never open one', () => {
  const clicks = signal([
    ['tone', 0.02],
    ['quiet', 0.5],
    ['tone', 0.02],
    ['quiet', 0.5],
    ['tone', 0.6],
    ['quiet', 1],
  ]);
  assert.deepEqual(segmentUtterances(clicks), []);
  // With a lower minimum the 0.6 s burst is kept, the 20 ms clicks still are not.
  const u = segmentUtterances(clicks, { minUtteranceS: 0.5 });
  assert.equal(u.length, 1);
  // The burst starts at 1.04 s; 100 ms of pre-roll come before it.
  assert.ok(Math.abs(u[0].startS - 0.94) <= 0.021, `start ${u[0].startS}`);
});

test('long speech is cut at maxUtteranceS and continues in the next utterance', () => {
  const u = segmentUtterances(
    signal([
      ['tone', 35],
      ['quiet', 1],
    ]),
  );
  assert.deepEqual(
    u.map((x) => x.cut),
    [true, true, false],
  );
  assert.ok(u.every((x) => x.durationS <= 15));
  assert.ok(Math.abs(u[0].durationS - 15) < 0.001 && Math.abs(u[1].durationS - 15) < 0.001);
  // Contiguous: nothing lost between the pieces.
  assert.equal(u[1].start, u[0].end);
  assert.ok(Math.abs(u[2].endS - 35) <= 0.021);
});

test('gap() closes an open utterance and keeps the clock running', () => {
  const vad = new VadSegmenter();
  assert.deepEqual(vad.push(signal([['tone', 2]])), []);
  assert.equal(vad.inSpeech, true);
  const closed = vad.gap(RATE * 10);
  assert.equal(closed.length, 1);
  assert.equal(vad.inSpeech, false);
  assert.equal(vad.position, RATE * 12);
  const next = [...vad.push(signal([['tone', 1.5]])), ...vad.flush()];
  assert.equal(next.length, 1);
  assert.ok(Math.abs(next[0].startS - 12) <= 0.021, `start ${next[0].startS}`);
});

test('flush() of a stream that is still speaking emits the open utterance', () => {
  const vad = new VadSegmenter();
  vad.push(
    signal([
      ['quiet', 0.2],
      ['tone', 1.2],
    ]),
  );
  const u = vad.flush();
  assert.equal(u.length, 1);
  assert.equal(vad.inSpeech, false);
});

test('chunking does not change the result (property)', () => {
  const s = signal([
    ['quiet', 0.3],
    ['tone', 1.4],
    ['quiet', 0.7],
    ['tone', 1.1],
    ['quiet', 0.2],
    ['tone', 1.3],
    ['quiet', 0.8],
  ]);
  const whole = segmentUtterances(s).map((u) => [u.start, u.end]);
  assert.equal(whole.length, 2);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 40 }), (sizes) => {
      const vad = new VadSegmenter();
      const got: number[][] = [];
      let at = 0;
      for (let k = 0; at < s.length; k++) {
        const n = sizes[k % sizes.length];
        for (const u of vad.push(s.subarray(at, at + n))) got.push([u.start, u.end]);
        at += n;
      }
      for (const u of vad.flush()) got.push([u.start, u.end]);
      assert.deepEqual(got, whole);
    }),
    fcParams(20261202, { numRuns: 50 }),
  );
});

test('bad options are refused', () => {
  assert.throws(() => new VadSegmenter({ minUtteranceS: 5, maxUtteranceS: 2 }), RangeError);
});
