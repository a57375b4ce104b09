/** A model.pt that does not match its config.yaml fails before anything is written, naming the tensor. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { archFromConfig, convertCheckpoint } from '../../../src/inference/convert/convertCheckpoint.ts';
import { openCheckpoint } from '../../../src/inference/checkpoint/index.ts';
import { editedFixture, FIXTURE, renameKey } from './helpers.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voicemood-mismatch-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a missing tensor fails with checkpoint_mismatch naming the key and its expected shape', async () => {
  const ckpt = await editedFixture(join(dir, 'missing'), (pkl) => renameKey(pkl, 'proj.weight', 'proj.weighx'));
  const out = join(dir, 'missing.onnx');
  await assert.rejects(convertCheckpoint(ckpt, out), (e) => {
    assert.ok(isVoicemoodError(e, 'checkpoint_mismatch'), String(e));
    assert.match(e.message, /proj\.weight/);
    assert.match(e.message, /\[9, 64\]/);
    assert.deepEqual(e.details.expected, [9, 64]);
    return true;
  });
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.endsWith('.onnx') || f.endsWith('.partial')),
    [],
  );
});

test('a mis-shaped tensor fails naming the key and both shapes', async () => {
  // Swap the names of fc1.bias [256] and fc2.bias [64]: both present, both the wrong shape.
  const ckpt = await editedFixture(join(dir, 'misshaped'), (pkl) => {
    renameKey(pkl, 'blocks.1.mlp.fc1.bias', 'blocks.1.mlp.fcX.bias');
    renameKey(pkl, 'blocks.1.mlp.fc2.bias', 'blocks.1.mlp.fc1.bias');
    renameKey(pkl, 'blocks.1.mlp.fcX.bias', 'blocks.1.mlp.fc2.bias');
  });
  await assert.rejects(convertCheckpoint(ckpt, join(dir, 'misshaped.onnx')), (e) => {
    assert.ok(isVoicemoodError(e, 'checkpoint_mismatch'), String(e));
    assert.match(e.message, /blocks\.1\.mlp\.fc1\.bias/);
    assert.match(e.message, /\[64\]/);
    assert.match(e.message, /\[256\]/);
    return true;
  });
});

test('unknown extra tensors are ignored (the fixture carries the unused decoder)', async () => {
  const ckpt = await openCheckpoint(FIXTURE);
  try {
    assert.ok([...ckpt.tensors.keys()].some((k) => k.includes('.decoder.')));
  } finally {
    await ckpt.close();
  }
  const renamed = await editedFixture(join(dir, 'extra'), (pkl) =>
    renameKey(pkl, 'modality_encoders.AUDIO.decoder.proj.bias', 'modality_encoders.AUDIO.decoder.proj.xxxx'),
  );
  const r = await convertCheckpoint(renamed, join(dir, 'extra.onnx'));
  assert.ok(r.bytes > 0);
});

test('variants the graph cannot build are refused with a clear model_invalid', async () => {
  const ckpt = await openCheckpoint(FIXTURE);
  try {
    assert.throws(
      () => archFromConfig({ ...ckpt.config, layerNormFirst: true }, ckpt.labels),
      (e) => isVoicemoodError(e, 'model_invalid') && /layer_norm_first/.test(e.message),
    );
    assert.throws(
      () => archFromConfig({ ...ckpt.config, convPosPreLn: true }, ckpt.labels),
      (e) => isVoicemoodError(e, 'model_invalid') && /conv_pos_pre_ln/.test(e.message),
    );
    const arch = archFromConfig({ ...ckpt.config, learnedAlibiScalePerLayer: true }, ckpt.labels);
    assert.equal(arch.alibiScaleLayers, 4);
  } finally {
    await ckpt.close();
  }
});

test('an unknown quantization is refused with bad_input', async () => {
  await assert.rejects(
    convertCheckpoint(FIXTURE, join(dir, 'q.onnx'), { quantization: 'fp8' as 'int8' }),
    (e) => isVoicemoodError(e, 'bad_input') && /fp8/.test(e.message),
  );
});
