/**
 * Layers' int8 product on its own: per-row activation ranges over real positions, and a row with
 * no real position at all (a local-encoder chunk after a short clip's end) staying finite.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { Layers } from '../../src/inference/convert/layers.ts';
import { GraphBuilder } from '../../src/inference/onnx/graph.ts';
import { writeModel } from '../../src/inference/onnx/writer.ts';

const K = 8;
const N = 4;
const L = 3;

let dir: string;
let session: ort.InferenceSession;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voicemood-qrows-'));
  const g = new GraphBuilder('qrows');
  // Weights of one sign: column sums (and so lo × colsum) are large, as in a real 512-wide layer.
  const weights = { tensor: (key: string, shape: number[]) => async () => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (key.endsWith('bias') ? 0.5 : 1 + (i % 3))) };
  const layers = new Layers(g, weights, { quantization: 'int8' });
  const x = g.input('x', 'FLOAT', ['batch', L, K]);
  const mask = g.input('mask', 'FLOAT', ['batch', L, 1]);
  g.output(layers.linear(x, 'lin', K, N, mask), 'y', 'FLOAT', ['batch', L, N]);
  await writeModel(join(dir, 'q.onnx'), g);
  session = await ort.InferenceSession.create(join(dir, 'q.onnx'));
});
after(async () => {
  await session?.release();
  await rm(dir, { recursive: true, force: true });
});

async function run(x: Float32Array, mask: Float32Array, rows: number): Promise<Float32Array> {
  const out = await session.run({ x: new ort.Tensor('float32', x, [rows, L, K]), mask: new ort.Tensor('float32', mask, [rows, L, 1]) });
  return out.y.data as Float32Array;
}

/** x W^T + b in float64, W[o][k] = 1 + ((o K + k) mod 3), b = 0.5. */
function reference(x: Float32Array, rows: number): number[] {
  const y: number[] = [];
  for (let r = 0; r < rows * L; r++) for (let o = 0; o < N; o++) {
    let s = 0.5;
    for (let k = 0; k < K; k++) s += x[r * K + k] * (1 + ((o * K + k) % 3));
    y.push(s);
  }
  return y;
}

const ramp = (offset: number) => Float32Array.from({ length: L * K }, (_, i) => offset + 3 * Math.sin(i * 0.7));

test('a row with no real position gives finite outputs, and the other row is unaffected', async () => {
  const real = ramp(10); // values around 10: lo far from 0
  const x = new Float32Array([...real, ...ramp(-7)]);
  const y = await run(x, new Float32Array([1, 1, 1, 0, 0, 0]), 2);
  assert.ok(y.every(Number.isFinite), `non-finite output: ${Array.from(y)}`);
  const alone = await run(real, new Float32Array([1, 1, 1]), 1);
  assert.deepEqual(Array.from(y.subarray(0, L * N)), Array.from(alone));
});

test('ranges are taken over real positions only: a padded position cannot widen them', async () => {
  const x = ramp(10);
  const wild = Float32Array.from(x);
  wild.fill(1e6, 2 * K, 3 * K); // position 2 is padding, with a huge value
  const mask = new Float32Array([1, 1, 0]);
  const a = await run(x, mask, 1);
  const b = await run(wild, mask, 1);
  assert.deepEqual(Array.from(a.subarray(0, 2 * N)), Array.from(b.subarray(0, 2 * N)));
  // And the real positions are the float product within int8 precision (1 % of the output range here).
  const ref = reference(x, 1);
  for (let i = 0; i < 2 * N; i++) assert.ok(Math.abs(a[i] - ref[i]) < 0.01 * Math.abs(ref[i]), `output ${i}: ${a[i]} vs ${ref[i]}`);
});
