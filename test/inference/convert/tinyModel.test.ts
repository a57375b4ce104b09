/** The random tiny model: real contract, real metadata, exact batching, deterministic bytes. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { EMOTIONS } from '../../../src/domain/emotions.ts';
import { frameCount } from '../../../src/inference/convert/arch.ts';
import { readModelMetadata } from '../../../src/inference/onnx/metadata.ts';
import type { TinyModelOptions } from '../../helpers/tinyModel.ts';
import { tinyArch, writeTinyModel } from '../../helpers/tinyModel.ts';
import { maxAbsDiff, row, runBatch } from './helpers.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voicemood-tiny-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Deterministic voice-like test signal: a few harmonics with a wobbling pitch and some noise. */
function signal(samples: number, seed: number): Float32Array {
  const out = new Float32Array(samples);
  let s = seed;
  for (let i = 0; i < samples; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const f = 120 + 30 * seed + 20 * Math.sin(i / 1600);
    const t = i / 16000;
    out[i] = 0.3 * Math.sin(2 * Math.PI * f * t) + 0.1 * Math.sin(4 * Math.PI * f * t) + 0.02 * (s / 2 ** 32 - 0.5);
  }
  return out;
}

async function build(name: string, options: TinyModelOptions = {}) {
  const path = join(dir, `${name}.onnx`);
  const written = await writeTinyModel(path, options);
  return { path, written, session: await ort.InferenceSession.create(path) };
}

/** Each row of a batch equals the clip run alone. */
async function assertBatchExact(session: ort.InferenceSession, clips: Float32Array[], D: number, labels = 9): Promise<number> {
  const batched = await runBatch(session, clips);
  let worst = 0;
  for (let i = 0; i < clips.length; i++) {
    const alone = await runBatch(session, [clips[i]]);
    const T = batched.framesDims[1];
    const t0 = alone.frameLengths[0];
    assert.equal(batched.frameLengths[i], t0);
    worst = Math.max(
      worst,
      maxAbsDiff(row(batched.scores, i, labels), alone.scores),
      maxAbsDiff(row(batched.embedding, i, D), alone.embedding),
      maxAbsDiff(batched.frames.subarray(i * T * D, i * T * D + t0 * D), alone.frames),
      maxAbsDiff(batched.frameScores.subarray(i * T * labels, i * T * labels + t0 * labels), alone.frameScores),
    );
  }
  assert.ok(worst < 1e-5, `batched rows differ from single runs by ${worst}`);
  return worst;
}

test('the tiny model has the graph contract and loads in onnxruntime', async () => {
  const { session, written } = await build('contract');
  assert.deepEqual(session.inputNames, ['waveform', 'lengths']);
  assert.deepEqual(session.outputNames, ['scores', 'logits', 'embedding', 'frames', 'frame_scores', 'frame_lengths']);
  assert.ok(written.bytes < 1_000_000, `tiny model is ${written.bytes} bytes`);
  const clip = signal(16000, 1);
  const o = await runBatch(session, [clip]);
  const T = frameCount(tinyArch(), 16000);
  assert.equal(T, 49);
  assert.deepEqual(o.frameLengths, [T]);
  assert.deepEqual(o.framesDims, [1, T, 32]);
  assert.equal(o.scores.length, 9);
  assert.ok(Math.abs(o.scores.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  assert.ok(Math.max(...o.scores) - Math.min(...o.scores) > 1e-3, 'scores are not all equal');
  for (let t = 0; t < T; t++) assert.ok(Math.abs(o.frameScores.subarray(t * 9, t * 9 + 9).reduce((a, b) => a + b, 0) - 1) < 1e-5);
  // The embedding is the mean of the frames.
  const mean = new Float32Array(32);
  for (let t = 0; t < T; t++) for (let d = 0; d < 32; d++) mean[d] += o.frames[t * 32 + d] / T;
  assert.ok(maxAbsDiff(mean, o.embedding) < 1e-5);
  await session.release();
});

test('the tiny model carries real metadata that readModelMetadata reads back', async () => {
  const { path, written, session } = await build('meta');
  await session.release();
  const m = await readModelMetadata(path);
  assert.deepEqual(m, written.metadata);
  assert.deepEqual(m.labelsEn, [...EMOTIONS]);
  assert.equal(m.labelsZh[0], '生气');
  assert.equal(m.sampleRate, 16000);
  assert.equal(m.frameRate, 50);
  assert.equal(m.embedDim, 32);
  assert.equal(m.sourceModel, 'tiny-random');
  assert.equal(m.quantization, 'fp32');
  assert.equal(m.convSpec.length, 7);
});

test('same options give the same bytes; another seed gives another model', async () => {
  const a = await writeTinyModel(join(dir, 'a.onnx'));
  const b = await writeTinyModel(join(dir, 'b.onnx'));
  const c = await writeTinyModel(join(dir, 'c.onnx'), { seed: 2 });
  const [ba, bb, bc] = await Promise.all([a, b, c].map((m) => readFile(m.path)));
  assert.ok(ba.equals(bb));
  assert.ok(!ba.equals(bc));
  assert.notEqual(a.metadata.checkpointSha256, c.metadata.checkpointSha256);
});

test('batched rows equal single runs (tiny, lengths from 0.5 s to 2 s)', async (t) => {
  const { session } = await build('batch');
  const clips = [32000, 8000, 20011, 12345].map((n, i) => signal(n, i + 1));
  t.diagnostic(`max difference ${await assertBatchExact(session, clips, 32)}`);
  await session.release();
});

test('non-power-of-two heads (H = 6) and per-layer ALiBi scales build, run and batch exactly', async (t) => {
  const { session } = await build('h6', { embedDim: 48, numHeads: 6, depth: 2, prenetDepth: 1, alibiScalePerLayer: true, convPosGroups: 16 });
  const clips = [24000, 9000, 15999].map((n, i) => signal(n, i + 3));
  const o = await runBatch(session, clips);
  assert.deepEqual(o.framesDims, [3, frameCount(tinyArch(), 24000), 48]);
  t.diagnostic(`max difference ${await assertBatchExact(session, clips, 48)}`);
  await session.release();
});

test('a masked (unuse*) label gets logit -inf and score 0', async () => {
  const labelMask = EMOTIONS.map((e) => e === 'other' || e === 'unknown');
  const { session, written } = await build('masked', { labelMask });
  const o = await runBatch(session, [signal(16000, 2), signal(9000, 5)]);
  for (let b = 0; b < 2; b++) {
    const scores = row(o.scores, b, 9);
    const logits = row(o.logits, b, 9);
    labelMask.forEach((masked, i) => {
      if (masked) {
        assert.equal(scores[i], 0);
        assert.equal(logits[i], -Infinity);
      } else assert.ok(scores[i] > 0 && Number.isFinite(logits[i]));
    });
    assert.ok(Math.abs(scores.reduce((a, c) => a + c, 0) - 1) < 1e-5);
  }
  assert.equal(o.frameScores[5], 0);
  assert.equal(written.metadata.labelsEn.length, 9);
  await session.release();
});

test('a row too short for one frame gets 0 frames and a zero embedding without disturbing the others', async () => {
  const { session } = await build('short');
  const long = signal(16000, 1);
  const o = await runBatch(session, [long, signal(300, 2)]);
  const alone = await runBatch(session, [long]);
  assert.deepEqual(o.frameLengths, [49, 0]);
  assert.ok(row(o.embedding, 1, 32).every((v) => v === 0));
  assert.ok(maxAbsDiff(row(o.scores, 0, 9), alone.scores) < 1e-5);
  assert.ok(Array.from(o.scores).every(Number.isFinite));
  await session.release();
});

test('an even positional-conv kernel (width 40 → k = 8) drops the extra step and batches exactly', async (t) => {
  const { session } = await build('even', { convPosWidth: 40 });
  const clips = [20000, 7000].map((n, i) => signal(n, i + 7));
  const o = await runBatch(session, clips);
  assert.deepEqual(o.framesDims, [2, frameCount(tinyArch(), 20000), 32]);
  t.diagnostic(`max difference ${await assertBatchExact(session, clips, 32)}`);
  await session.release();
});
