/**
 * Layers' int8 products on their own, against float64 references: per-row activation ranges over
 * real positions (quantizeRows), the fixed zero point for GELU outputs (quantizeGeluRows), and rows
 * with no real position at all (a local-encoder chunk after a short clip's end) staying finite.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { Layers } from '../../../src/inference/convert/layers.ts';
import { GraphBuilder } from '../../../src/inference/onnx/graph.ts';
import { writeModel } from '../../../src/inference/onnx/writer.ts';

const K = 8;
const N = 4;
const L = 3;
const BIAS = 1.5;

let dir: string;
let plain: ort.InferenceSession;
let afterGelu: ort.InferenceSession;

/** Weights of one sign (large column sums, as in a real 512-wide layer), W[o][k] = 1 + ((o K + k) mod 3). */
const weight = (o: number, k: number) => 1 + ((o * K + k) % 3);

async function model(name: string, gelu: boolean): Promise<ort.InferenceSession> {
  const g = new GraphBuilder(name);
  const src = {
    tensor: (key: string, shape: number[]) => async () =>
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (key.endsWith('bias') ? BIAS : weight(Math.floor(i / K), i % K))),
  };
  const layers = new Layers(g, src, { quantization: 'int8' });
  const x = g.input('x', 'FLOAT', ['batch', L, K]);
  const mask = g.input('mask', 'FLOAT', ['batch', L, 1]);
  const input = gelu ? layers.gelu(x) : x;
  if (gelu) g.output(input, 'gelu', 'FLOAT', ['batch', L, K]);
  g.output(layers.linear(input, 'lin', K, N, mask), 'y', 'FLOAT', ['batch', L, N]);
  const path = join(dir, `${name}.onnx`);
  await writeModel(path, g);
  return ort.InferenceSession.create(path);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voicemood-qrows-'));
  plain = await model('plain', false);
  afterGelu = await model('gelu', true);
});
after(async () => {
  await plain?.release();
  await afterGelu?.release();
  await rm(dir, { recursive: true, force: true });
});

async function run(s: ort.InferenceSession, x: Float32Array, mask: Float32Array, rows: number): Promise<{ y: Float32Array; input: Float32Array }> {
  const out = await s.run({ x: new ort.Tensor('float32', x, [rows, L, K]), mask: new ort.Tensor('float32', mask, [rows, L, 1]) });
  return { y: out.y.data as Float32Array, input: (out.gelu?.data as Float32Array | undefined) ?? x };
}

/** x W^T + b in float64 for the first `positions` positions of row 0. */
function reference(x: Float32Array, positions: number): number[] {
  const y: number[] = [];
  for (let r = 0; r < positions; r++) {
    for (let o = 0; o < N; o++) {
      let s = BIAS;
      for (let k = 0; k < K; k++) s += x[r * K + k] * weight(o, k);
      y.push(s);
    }
  }
  return y;
}

/** Within int8 precision: 1 % of the largest output (bias included). */
function assertClose(y: Float32Array, ref: number[], what: string): void {
  const scale = Math.max(...ref.map(Math.abs));
  ref.forEach((r, i) => assert.ok(Math.abs(y[i] - r) < 0.01 * scale, `${what}, output ${i}: ${y[i]} vs ${r}`));
}

const wave = (offset: number, amplitude = 3) => Float32Array.from({ length: L * K }, (_, i) => offset + amplitude * Math.sin(i * 0.7));

for (const [label, session] of [
  ['any input', () => plain],
  ['GELU outputs (fixed zero point)', () => afterGelu],
] as const) {
  test(`${label}: the product matches float, bias included`, async () => {
    for (const x of [wave(0), wave(10), wave(-10), wave(0, 0.01)]) {
      const { y, input } = await run(session(), x, new Float32Array([1, 1, 1]), 1);
      assertClose(y, reference(input, L), `input around ${x[0].toFixed(1)}`);
    }
  });

  test(`${label}: a row with no real position gives finite outputs, and the other row is unaffected`, async () => {
    const real = wave(10);
    const both = await run(session(), new Float32Array([...real, ...wave(-7)]), new Float32Array([1, 1, 1, 0, 0, 0]), 2);
    assert.ok(both.y.every(Number.isFinite), `non-finite output: ${Array.from(both.y)}`);
    const alone = await run(session(), real, new Float32Array([1, 1, 1]), 1);
    assert.deepEqual(Array.from(both.y.subarray(0, L * N)), Array.from(alone.y));
  });

  test(`${label}: ranges are taken over real positions only: a padded position cannot widen them`, async () => {
    const x = wave(2);
    const wild = Float32Array.from(x);
    wild.fill(1e6, 2 * K, 3 * K); // position 2 is padding, with a huge value
    const mask = new Float32Array([1, 1, 0]);
    const a = await run(session(), x, mask, 1);
    const b = await run(session(), wild, mask, 1);
    assert.deepEqual(Array.from(a.y.subarray(0, 2 * N)), Array.from(b.y.subarray(0, 2 * N)));
    assertClose(a.y, reference(a.input, 2), 'real positions');
  });
}
