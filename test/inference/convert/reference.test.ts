/**
 * The converter against FunASR itself: the reference fixture converted to ONNX must reproduce
 * expected.json and the frame dumps, alone and batched (rows padded to the longest). The local
 * encoder runs in time chunks (localEncoder.ts) and attention in blocks of queries (attention.ts):
 * input0 (190 frames) spans three default chunks (but one default query block), and the same checks
 * run with 5-frame chunks and 7-query blocks (the last one padded) and with one chunk and one block
 * per clip, so both must be exact.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { convertCheckpoint } from '../../../src/inference/convert/convertCheckpoint.ts';
import { QUERY_BLOCK } from '../../../src/inference/convert/attention.ts';
import { CHUNK_FRAMES } from '../../../src/inference/convert/localEncoder.ts';
import { readModelMetadata } from '../../../src/inference/onnx/metadata.ts';
import type { ExpectedCase, ModelOutputs } from './helpers.ts';
import { FIXTURE, maxAbsDiff, readExpected, readNpyFloat32, readWavMono, row, runBatch } from './helpers.ts';

const SCORE_TOL = 1e-5;
const EMBEDDING_TOL = 1e-4;
const FRAME_TOL = 1e-4;
const D = 64;

let dir: string;
let session: ort.InferenceSession;
let cases: ExpectedCase[];
let labels: string[];
let clips: Float32Array[];
let frames: Float32Array[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voicemood-ref-'));
  await convertCheckpoint(FIXTURE, join(dir, 'ref.onnx'), { sourceModel: 'reference-fixture', sourceRevision: 'test' });
  session = await ort.InferenceSession.create(join(dir, 'ref.onnx'));
  ({ cases, labels } = await readExpected());
  clips = await Promise.all(cases.map(async (c) => (await readWavMono(join(FIXTURE, c.input))).samples));
  frames = await Promise.all(cases.map(async (c) => (await readNpyFloat32(join(FIXTURE, c.frames_file))).data));
});

after(async () => {
  await session?.release();
  await rm(dir, { recursive: true, force: true });
});

function check(t: { diagnostic(s: string): void }, what: string, o: ModelOutputs, i: number, c: ExpectedCase, expectedFrames: Float32Array): void {
  const T = o.framesDims[1];
  const [t0, d] = c.frames_shape;
  assert.equal(o.frameLengths[i], t0, `${what}: frame count`);
  assert.equal(d, D);
  const myFrames = o.frames.subarray(i * T * D, i * T * D + t0 * D);
  const errors = {
    scores: maxAbsDiff(row(o.scores, i, 9), c.scores),
    logits: maxAbsDiff(row(o.logits, i, 9), c.logits),
    embedding: maxAbsDiff(row(o.embedding, i, D), c.embedding),
    frames: maxAbsDiff(myFrames, expectedFrames),
  };
  t.diagnostic(
    `${what}: max abs error scores ${errors.scores.toExponential(2)}, logits ${errors.logits.toExponential(2)}, embedding ${errors.embedding.toExponential(2)}, frames ${errors.frames.toExponential(2)}`,
  );
  assert.ok(errors.scores <= SCORE_TOL, `${what}: scores off by ${errors.scores}`);
  assert.ok(errors.logits <= EMBEDDING_TOL, `${what}: logits off by ${errors.logits}`);
  assert.ok(errors.embedding <= EMBEDDING_TOL, `${what}: embedding off by ${errors.embedding}`);
  assert.ok(errors.frames <= FRAME_TOL, `${what}: frames off by ${errors.frames}`);
  // Padding frames of a shorter row are zero.
  for (let j = i * T * D + t0 * D; j < (i + 1) * T * D; j++) assert.ok(o.frames[j] === 0, `${what}: padding frame value ${o.frames[j]}`);
}

test('fixture inputs are what expected.json was computed from', () => {
  assert.equal(cases.length, 3);
  cases.forEach((c, i) => assert.equal(clips[i].length, c.samples));
});

test('the default chunk size splits input0, so the checks below cover chunk boundaries', () => {
  assert.ok(cases[0].frames_shape[0] > 2 * CHUNK_FRAMES, `input0 has ${cases[0].frames_shape[0]} frames, chunks ${CHUNK_FRAMES}`);
  assert.ok(cases[0].frames_shape[0] < QUERY_BLOCK, 'one default query block: the 7-query variant covers block boundaries');
});

for (const [label, chunkFrames, queryBlock] of [
  [`default chunks (${CHUNK_FRAMES} frames) and query blocks (${QUERY_BLOCK})`, undefined, undefined],
  ['chunks of 5 frames, blocks of 7 queries', 5, 7],
  ['one chunk and one query block per clip', 1_000_000, 1_000_000],
] as const) {
  describe(label, () => {
    let s: ort.InferenceSession;
    before(async () => {
      if (chunkFrames === undefined) s = session;
      else {
        const path = join(dir, `ref-${chunkFrames}-${queryBlock}.onnx`);
        await convertCheckpoint(FIXTURE, path, { sourceModel: 'reference-fixture', sourceRevision: 'test', chunkFrames, queryBlock });
        s = await ort.InferenceSession.create(path);
      }
    });
    after(async () => {
      if (s !== session) await s?.release();
    });

    test('each input alone reproduces FunASR (scores 1e-5, embedding and frames 1e-4)', async (t) => {
      for (let i = 0; i < cases.length; i++) check(t, cases[i].input, await runBatch(s, [clips[i]]), 0, cases[i], frames[i]);
    });

    test('the three inputs batched together give the same numbers', async (t) => {
      const o = await runBatch(s, clips);
      assert.deepEqual(o.framesDims, [3, cases[0].frames_shape[0], D]);
      for (let i = 0; i < cases.length; i++) check(t, `batched ${cases[i].input}`, o, i, cases[i], frames[i]);
    });

    test('a batch in another order, with a clip twice, gives the same numbers', async (t) => {
      const o = await runBatch(s, [clips[2], clips[1], clips[0], clips[1]]);
      [2, 1, 0, 1].forEach((c, i) => check(t, `reordered row ${i} (${cases[c].input})`, o, i, cases[c], frames[c]));
    });
  });
}

test('the converted model carries the checkpoint labels and metadata', async () => {
  const m = await readModelMetadata(join(dir, 'ref.onnx'));
  assert.deepEqual(m.labelsEn, labels);
  assert.deepEqual(m.labelsZh, ['生气', '厌恶', '恐惧', '开心', '中立', '其他', '难过', '吃惊', '未知']);
  assert.equal(m.embedDim, D);
  assert.equal(m.frameRate, 50);
  assert.equal(m.sampleRate, 16000);
  assert.equal(m.sourceModel, 'reference-fixture');
  assert.equal(m.sourceRevision, 'test');
  assert.equal(m.quantization, 'fp32');
  assert.match(m.checkpointSha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(m.convSpec, [
    [32, 10, 5],
    [32, 3, 2],
    [32, 3, 2],
    [32, 3, 2],
    [32, 3, 2],
    [32, 2, 2],
    [32, 2, 2],
  ]);
});
