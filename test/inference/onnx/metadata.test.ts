/** readModelMetadata: reads voicemood.* keys with a few positional reads; typed errors otherwise. */
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { GraphBuilder } from '../../../src/inference/onnx/graph.ts';
import { metadataProps, readModelMetadata } from '../../../src/inference/onnx/metadata.ts';
import { writeModel } from '../../../src/inference/onnx/writer.ts';
import type { ModelMetadata } from '../../../src/inference/types.ts';

const META: ModelMetadata = {
  labelsEn: ['angry', 'happy', 'unuse_0'],
  labelsZh: ['生气', '开心', 'unuse_0'],
  sampleRate: 16000,
  frameRate: 50,
  embedDim: 1024,
  sourceModel: 'emotion2vec_plus_large',
  sourceRevision: 'abc123',
  checkpointSha256: 'f'.repeat(64),
  converterVersion: '1',
  quantization: 'int8',
  convSpec: [
    [512, 10, 5],
    [512, 3, 2],
  ],
};

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voicemood-meta-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function identityGraph(weightBytes = 0): GraphBuilder {
  const g = new GraphBuilder('id');
  const x = g.input('x', 'FLOAT', [1]);
  const w = g.weight('pad', 'FLOAT', [weightBytes / 4], () => new Float32Array(weightBytes / 4));
  g.output(g.op('Add', [x, g.op('ReduceSum', [w], { keepdims: 1 })]), 'y', 'FLOAT', [1]);
  return g;
}

test('metadata round-trips through a written model, every field', async () => {
  const path = join(dir, 'm.onnx');
  await writeModel(path, identityGraph(16), { metadata: metadataProps(META) });
  assert.deepEqual(await readModelMetadata(path), META);
});

test('only a few small reads are needed, however big the graph', async () => {
  const path = join(dir, 'big.onnx');
  await writeModel(path, identityGraph(32 * 2 ** 20), { metadata: metadataProps(META) });
  const fh = await open(path, 'r');
  await fh.close();
  // Count the bytes read by patching FileHandle.prototype.read for the duration of one call.
  const proto = Object.getPrototypeOf(fh) as { read: typeof fh.read };
  const realRead = proto.read;
  let bytesRead = 0;
  proto.read = async function (this: typeof fh, ...args: Parameters<typeof fh.read>) {
    const r = await realRead.apply(this, args);
    bytesRead += r.bytesRead;
    return r;
  };
  try {
    assert.deepEqual(await readModelMetadata(path), META);
  } finally {
    proto.read = realRead;
  }
  assert.ok(bytesRead < 4096, `read ${bytesRead} bytes of a 32 MB model`);
});

test('a missing file is model_missing', async () => {
  await assert.rejects(readModelMetadata(join(dir, 'nope.onnx')), (e) => isVoicemoodError(e, 'model_missing'));
});

test('a file that is not a model, or is truncated, is model_invalid', async () => {
  const junk = join(dir, 'junk.onnx');
  await writeFile(junk, Buffer.from('this is not an onnx model at all, just text\n'));
  await assert.rejects(readModelMetadata(junk), (e) => isVoicemoodError(e, 'model_invalid'));
  const good = join(dir, 'good.onnx');
  await writeModel(good, identityGraph(4096), { metadata: metadataProps(META) });
  const truncated = join(dir, 'trunc.onnx');
  const fh = await open(good, 'r');
  const buf = Buffer.alloc(2048);
  await fh.read(buf, 0, 2048, 0);
  await fh.close();
  await writeFile(truncated, buf);
  await assert.rejects(readModelMetadata(truncated), (e) => isVoicemoodError(e, 'model_invalid') && /truncated/.test(e.message));
});

test('an ONNX model without voicemood metadata is model_invalid naming the missing key', async () => {
  const path = join(dir, 'plain.onnx');
  await writeModel(path, identityGraph(8), { metadata: { other: 'x' } });
  await assert.rejects(readModelMetadata(path), (e) => isVoicemoodError(e, 'model_invalid') && /no voicemood\.quantization in its metadata/.test(e.message));
  const bad = join(dir, 'badq.onnx');
  await writeModel(bad, identityGraph(8), { metadata: { ...metadataProps(META), 'voicemood.quantization': 'fp8' } });
  await assert.rejects(readModelMetadata(bad), (e) => isVoicemoodError(e, 'model_invalid') && /fp8/.test(e.message));
});
