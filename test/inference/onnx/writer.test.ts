/** The ONNX writer and DSL on small hand-made graphs, checked by running them in onnxruntime. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { attr, GraphBuilder } from '../../../src/inference/onnx/graph.ts';
import { readMetadataProps } from '../../../src/inference/onnx/metadata.ts';
import { varintSize, ProtoEncoder, readVarint } from '../../../src/inference/onnx/protobuf.ts';
import type { WriteProgress } from '../../../src/inference/onnx/writer.ts';
import { writeModel } from '../../../src/inference/onnx/writer.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voicemood-onnx-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('varints round-trip, sizes match, negatives take 10 bytes', () => {
  for (const v of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 53 - 1, -1, -7]) {
    const bytes = new ProtoEncoder().varint(v).finish();
    assert.equal(bytes.length, varintSize(v), `size of ${v}`);
    assert.equal(BigInt.asIntN(64, readVarint(bytes, 0)!.value), BigInt(v));
  }
  assert.equal(varintSize(-1), 10);
  assert.equal(readVarint(Uint8Array.of(0x80, 0x80), 0), undefined);
});

test('a linear layer with a symbolic batch dim runs in onnxruntime and computes x W + b', async () => {
  const g = new GraphBuilder('linear');
  const x = g.input('x', 'FLOAT', ['batch', 3]);
  const w = g.weight('w', 'FLOAT', [3, 2], () => Float32Array.of(1, 2, 3, 4, 5, 6));
  const b = g.constF([0.5, -0.5], [2]);
  const y = g.op('Add', [g.op('MatMul', [x, w]), b]);
  g.output(y, 'y', 'FLOAT', ['batch', 2]);
  g.output(g.op('LayerNormalization', [y, g.constF([1, 1])], { axis: -1, epsilon: attr.f(1e-5) }), 'normed', 'FLOAT', ['batch', 2]);
  g.output(g.op('Shape', [x], { start: 0, end: 1 }), 'batch_size', 'INT64', [1]);
  const path = join(dir, 'linear.onnx');
  const size = await writeModel(path, g, { metadata: { 'voicemood.test': 'yes' } });
  assert.equal((await stat(path)).size, size);
  const s = await ort.InferenceSession.create(path);
  const out = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 0, 0, 1, 1, 1), [2, 3]) });
  assert.deepEqual(Array.from(out.y.data as Float32Array), [1.5, 1.5, 9.5, 11.5]);
  assert.deepEqual(Array.from(out.batch_size.data as BigInt64Array), [2n]);
  const normed = out.normed.data as Float32Array;
  assert.ok(Math.abs(normed[0]) < 1e-3 && Math.abs(normed[2] + 1) < 1e-3);
  await s.release();
  assert.deepEqual(await readMetadataProps(path), new Map([['voicemood.test', 'yes']]));
});

test('multi-output ops, int attributes and many initializers stream with progress', async () => {
  const g = new GraphBuilder('split');
  const x = g.input('x', 'FLOAT', [4]);
  const [a, b] = g.opN('Split', [x], 2, { axis: 0 });
  let acc = g.op('Add', [a, b]);
  const n = 50;
  for (let i = 0; i < n; i++) acc = g.op('Add', [acc, g.weight(`w${i}`, 'FLOAT', [2], async () => Float32Array.of(i, -i))]);
  g.output(acc, 'y', 'FLOAT', [2]);
  const seen: WriteProgress[] = [];
  const path = join(dir, 'split.onnx');
  await writeModel(path, g, { onProgress: (p) => seen.push(p) });
  assert.equal(seen.length, n);
  assert.deepEqual(seen.at(-1), { tensorsWritten: n, tensorsTotal: n, bytesWritten: n * 8, bytesTotal: n * 8 });
  const s = await ort.InferenceSession.create(path);
  const out = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 10, 20), [4]) });
  const sum = (n * (n - 1)) / 2;
  assert.deepEqual(Array.from(out.y.data as Float32Array), [11 + sum, 22 - sum]);
  await s.release();
});

test('a Loop whose body is a subgraph reads outer values and stacks its scan outputs', async () => {
  const g = new GraphBuilder('loop');
  const x = g.input('x', 'FLOAT', [3]);
  const trips = g.input('trips', 'INT64', []);
  const scale = g.constF(2); // an outer initializer, made before the body
  const body = g.subgraph(
    'body',
    [
      { name: 'i', dataType: 'INT64', dims: [] },
      { name: 'cond', dataType: 'BOOL', dims: [] },
    ],
    ([i, cond]) => {
      // (i + 1) × scale × x, with a constant made while building the body (it lands in the outer graph).
      const k = g.op('Cast', [g.op('Add', [i, g.constI(1)])], { to: 1 });
      return [
        { name: g.op('Identity', [cond]), dataType: 'BOOL', dims: [] },
        { name: g.op('Mul', [g.op('Mul', [x, scale]), k]), dataType: 'FLOAT', dims: [3] },
      ];
    },
  );
  g.output(g.op('Loop', [trips, ''], { body: attr.graph(body) }), 'stacked', 'FLOAT', ['trips', 3]);
  assert.equal(g.nodes.length, 2, 'only the Loop and the output Identity are in the outer graph');
  assert.equal(body.nodes.length, 5); // Add, Cast, Identity, Mul, Mul
  const path = join(dir, 'loop.onnx');
  await writeModel(path, g);
  const s = await ort.InferenceSession.create(path);
  const out = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, -2, 0.5), [3]), trips: new ort.Tensor('int64', BigInt64Array.of(3n), []) });
  assert.deepEqual(out.stacked.dims, [3, 3]);
  assert.deepEqual(Array.from(out.stacked.data as Float32Array), [2, -4, 1, 4, -8, 2, 6, -12, 3]);
  await s.release();
});

test('an initializer that yields the wrong number of bytes fails and leaves no file behind', async () => {
  const g = new GraphBuilder('bad');
  const x = g.input('x', 'FLOAT', [2]);
  g.output(g.op('Add', [x, g.weight('w', 'FLOAT', [2], () => Float32Array.of(1, 2, 3))]), 'y', 'FLOAT', [2]);
  await assert.rejects(writeModel(join(dir, 'bad.onnx'), g), /initializer w: got 12 bytes, expected 8/);
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.startsWith('bad')),
    [],
  );
});

test('value names must be unique', () => {
  const g = new GraphBuilder('dup');
  g.input('x', 'FLOAT', [1]);
  assert.throws(() => g.input('x', 'FLOAT', [1]), /used twice/);
});

test('a large initializer (64 MB) streams without building the model in memory', async () => {
  const g = new GraphBuilder('big');
  const x = g.input('x', 'FLOAT', [1, 4096]);
  const dims = [4096, 4096];
  let reads = 0;
  const w = g.weight('w', 'FLOAT', dims, () => {
    reads++;
    const data = new Float32Array(4096 * 4096);
    for (let i = 0; i < 4096; i++) data[i * 4096 + i] = 2; // 2 × identity
    return data;
  });
  g.output(g.op('MatMul', [x, w]), 'y', 'FLOAT', [1, 4096]);
  const path = join(dir, 'big.onnx');
  const size = await writeModel(path, g);
  assert.equal(reads, 1);
  assert.ok(size > 64 * 2 ** 20);
  const s = await ort.InferenceSession.create(path);
  const input = Float32Array.from({ length: 4096 }, (_, i) => i);
  const y = (await s.run({ x: new ort.Tensor('float32', input, [1, 4096]) })).y.data as Float32Array;
  assert.equal(y[4095], 2 * 4095);
  assert.equal(y[17], 34);
  await s.release();
  await rm(path);
});
