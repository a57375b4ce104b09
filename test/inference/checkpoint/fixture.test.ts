import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { expectTensor, openCheckpoint, type Checkpoint, type Emotion2vecConfig } from '../../../src/inference/checkpoint/index.ts';
import { EMOTIONS, EMOTION_LABELS } from '../../../src/domain/emotions.ts';

const FIXTURE_DIR = new URL('../../fixtures/emotion2vec-reference/', import.meta.url).pathname;
/** What python3 (zipfile + struct, see fixtures/make-reference-tensors.py) reads from the same file. */
const REFERENCE: Record<string, { shape: number[]; sum: number; first: number[]; values?: number[] }> = JSON.parse(
  readFileSync(new URL('./fixtures/reference-tensors.json', import.meta.url), 'utf8'),
);

/** The tensors the forward pass needs, with shapes derived from config.yaml as docs/emotion2vec.md describes them. */
function documentedTensors(c: Emotion2vecConfig, labels: number): Map<string, number[]> {
  const D = c.embedDim;
  const a = 'modality_encoders.AUDIO.';
  const keys = new Map<string, number[]>();
  let cin = 1;
  c.featureEncoderSpec.forEach(([ch, k], i) => {
    keys.set(`${a}local_encoder.conv_layers.${i}.0.weight`, [ch, cin, k]);
    keys.set(`${a}local_encoder.conv_layers.${i}.2.1.weight`, [ch]);
    keys.set(`${a}local_encoder.conv_layers.${i}.2.1.bias`, [ch]);
    cin = ch;
  });
  keys.set(`${a}project_features.1.weight`, [cin]);
  keys.set(`${a}project_features.1.bias`, [cin]);
  keys.set(`${a}project_features.2.weight`, [D, cin]);
  keys.set(`${a}project_features.2.bias`, [D]);
  const kpos = Math.max(3, Math.floor(c.convPosWidth / c.convPosDepth));
  for (let j = 1; j <= c.convPosDepth; j++) {
    keys.set(`${a}relative_positional_encoder.${j}.0.weight`, [D, D / c.convPosGroups, kpos]);
    keys.set(`${a}relative_positional_encoder.${j}.0.bias`, [D]);
  }
  const layers = c.learnedAlibiScalePerLayer ? c.prenetDepth + c.depth : 1;
  keys.set(`${a}alibi_scale`, [layers, 1, c.learnedAlibiScalePerHead ? c.numHeads : 1, 1, 1]);
  keys.set(`${a}extra_tokens`, [1, c.numExtraTokens, D]);
  keys.set(`${a}context_encoder.norm.weight`, [D]);
  keys.set(`${a}context_encoder.norm.bias`, [D]);
  const blocks = [
    ...Array.from({ length: c.prenetDepth }, (_, i) => `${a}context_encoder.blocks.${i}.`),
    ...Array.from({ length: c.depth }, (_, i) => `blocks.${i}.`),
  ];
  const hidden = D * c.mlpRatio;
  for (const b of blocks) {
    for (const n of ['norm1', 'norm2']) {
      keys.set(`${b}${n}.weight`, [D]);
      keys.set(`${b}${n}.bias`, [D]);
    }
    keys.set(`${b}attn.qkv.weight`, [3 * D, D]);
    keys.set(`${b}attn.qkv.bias`, [3 * D]);
    keys.set(`${b}attn.proj.weight`, [D, D]);
    keys.set(`${b}attn.proj.bias`, [D]);
    keys.set(`${b}mlp.fc1.weight`, [hidden, D]);
    keys.set(`${b}mlp.fc1.bias`, [hidden]);
    keys.set(`${b}mlp.fc2.weight`, [D, hidden]);
    keys.set(`${b}mlp.fc2.bias`, [D]);
  }
  keys.set('proj.weight', [labels, D]);
  keys.set('proj.bias', [labels]);
  return keys;
}

async function withFixture(fn: (c: Checkpoint) => Promise<void>): Promise<void> {
  const c = await openCheckpoint(FIXTURE_DIR);
  try {
    await fn(c);
  } finally {
    await c.close();
  }
}

test('opens the reference checkpoint: config, labels and sha256', async () => {
  await withFixture(async (c) => {
    assert.deepEqual(c.config, {
      embedDim: 64,
      numHeads: 4,
      depth: 2,
      mlpRatio: 4,
      normEps: 1e-5,
      layerNormFirst: false,
      normalize: true,
      featureEncoderSpec: [
        [32, 10, 5],
        [32, 3, 2],
        [32, 3, 2],
        [32, 3, 2],
        [32, 3, 2],
        [32, 2, 2],
        [32, 2, 2],
      ],
      convPosWidth: 95,
      convPosDepth: 5,
      convPosGroups: 16,
      convPosPreLn: false,
      prenetDepth: 2,
      numExtraTokens: 10,
      useAlibiEncoder: true,
      numAlibiHeads: 4,
      learnedAlibiScale: true,
      learnedAlibiScalePerLayer: false,
      learnedAlibiScalePerHead: true,
    } satisfies Emotion2vecConfig);
    assert.deepEqual(c.labels.en, [...EMOTIONS]);
    assert.deepEqual(
      c.labels.zh,
      EMOTIONS.map((e) => EMOTION_LABELS.zh[e]),
    );
    assert.deepEqual(c.labels.masked, new Array(9).fill(false));
    const bytes = readFileSync(`${FIXTURE_DIR}model.pt`);
    assert.equal(c.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(c.sha256, 'fd9c80076f7c63cf0ae5a574f107e6c584fabf5f6c4d3aee8fce15da2586ff59'); // sha256sum
  });
});

test('every documented tensor is there with the shape the config implies; only decoder tensors are extra', async () => {
  await withFixture(async (c) => {
    const documented = documentedTensors(c.config, c.labels.en.length);
    assert.equal(documented.size, 89);
    for (const [key, shape] of documented) assert.deepEqual(expectTensor(c, key, shape).shape, shape, key);
    assert.deepEqual(expectTensor(c, 'modality_encoders.AUDIO.local_encoder.conv_layers.0.0.weight', [32, 1, 10]).dtype, 'float32');
    const extra = [...c.tensors.keys()].filter((k) => !documented.has(k));
    assert.equal(extra.length, 10);
    assert.ok(
      extra.every((k) => k.startsWith('modality_encoders.AUDIO.decoder.')),
      extra.join(', '),
    );
  });
});

test('tensor values equal what python3 reads from the raw storages', async () => {
  await withFixture(async (c) => {
    assert.deepEqual([...c.tensors.keys()].sort(), Object.keys(REFERENCE).sort());
    for (const [key, ref] of Object.entries(REFERENCE)) {
      const t = c.tensors.get(key)!;
      assert.deepEqual(t.shape, ref.shape, key);
      const values = await t.read();
      assert.equal(values.length, t.size, key);
      assert.deepEqual([...values.subarray(0, ref.first.length)], ref.first, key);
      let sum = 0;
      for (const v of values) sum += v;
      assert.ok(Math.abs(sum - ref.sum) <= 1e-9 * values.length + 1e-6 * Math.abs(ref.sum), `${key}: sum ${sum} vs ${ref.sum}`);
      if (ref.values) assert.deepEqual([...values], ref.values, key);
    }
  });
});

test('expectTensor names the key and both shapes on a mismatch', async () => {
  await withFixture(async (c) => {
    assert.throws(
      () => expectTensor(c, 'blocks.7.attn.qkv.weight', [192, 64]),
      (e: unknown) => isVoicemoodError(e, 'checkpoint_mismatch') && e.message.includes('blocks.7.attn.qkv.weight') && e.message.includes('[192, 64]'),
    );
    assert.throws(
      () => expectTensor(c, 'proj.weight', [9, 768]),
      (e: unknown) =>
        isVoicemoodError(e, 'checkpoint_mismatch') &&
        e.message.includes('proj.weight') &&
        e.message.includes('[9, 64]') &&
        e.message.includes('[9, 768]') &&
        JSON.stringify(e.details) === JSON.stringify({ key: 'proj.weight', expected: [9, 768], actual: [9, 64] }),
    );
    assert.throws(
      () => expectTensor(c, 'proj.bias', [9, 1]),
      (e: unknown) => isVoicemoodError(e, 'checkpoint_mismatch') && e.message.includes('[9, 1]'),
    );
  });
});

test('a folder without the checkpoint files is model_missing', async () => {
  await assert.rejects(
    openCheckpoint('/nonexistent/voicemood-checkpoint'),
    (e: unknown) => isVoicemoodError(e, 'model_missing') && /config\.yaml/.test(e.message),
  );
});
