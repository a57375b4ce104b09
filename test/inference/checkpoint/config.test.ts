import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { parseConvSpec, parseEmotion2vecConfig, parseTokens } from '../../../src/inference/checkpoint/index.ts';

const FIXTURE_CONFIG = readFileSync(new URL('../../fixtures/emotion2vec-reference/config.yaml', import.meta.url), 'utf8');
const invalid = (pattern: RegExp) => (e: unknown) => isVoicemoodError(e, 'model_invalid') && pattern.test(e.message);

test('feature_encoder_spec expressions are evaluated without eval', () => {
  assert.deepEqual(parseConvSpec('[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]'), [
    [512, 10, 5],
    [512, 3, 2],
    [512, 3, 2],
    [512, 3, 2],
    [512, 3, 2],
    [512, 2, 2],
    [512, 2, 2],
  ]);
  assert.deepEqual(parseConvSpec('2 * [(8, 3, 1)] + [(16, 2, 2),]'), [
    [8, 3, 1],
    [8, 3, 1],
    [16, 2, 2],
  ]);
  assert.deepEqual(parseConvSpec(' [ ( 4 , 2 * 3 , 1 + 1 ) ] * (1 + 1) '), [
    [4, 6, 2],
    [4, 6, 2],
  ]);
  assert.deepEqual(parseConvSpec('[(1, 1, 1)] * 0 + [(2, 2, 2)]'), [[2, 2, 2]]);
  for (const [spec, why] of [
    ['__import__("os").system("id")', /unexpected '_'/],
    ['[(512, 10, 5)] + 1', /different kinds/],
    ['[(512, 10, 5)] * [(1, 1, 1)]', /multiplies two sequences/],
    ['[(512, 10)]', /\(channels, kernel, stride\)/],
    ['[(512, 0, 5)]', /positive integers/],
    ['[(512, 10, 5)', /expected '\]'/],
    ['[(1, 1, 1)] * 100000000000', /too many layers/],
    ['[] * 1000000000000000', /not a list of layers/],
    ['['.repeat(20) + ']'.repeat(20), /nested too deeply/],
    ['[(99999999999999999999, 1, 1)]', /too large/],
    ['', /ends too early/],
  ] as const) {
    assert.throws(() => parseConvSpec(spec), invalid(why), spec.slice(0, 40));
  }
});

test('config.yaml numbers and booleans are read leniently (YAML 1.1 leaves 1e-05 a string)', () => {
  const text = FIXTURE_CONFIG.replace('norm_eps: 1.0e-05', "norm_eps: '1e-05'")
    .replace('mlp_ratio: 4.0', 'mlp_ratio: " 4.0 "')
    .replace('embed_dim: 64', "embed_dim: '64'")
    .replace('normalize: true', 'normalize: "True"')
    .replace('      num_alibi_heads: 4\n', '');
  assert.notEqual(text, FIXTURE_CONFIG);
  const c = parseEmotion2vecConfig(text);
  assert.equal(c.normEps, 1e-5);
  assert.equal(c.mlpRatio, 4);
  assert.equal(c.embedDim, 64);
  assert.equal(c.normalize, true);
  assert.equal(c.numAlibiHeads, 4, 'num_alibi_heads defaults to num_heads');
  // Unquoted 1e-05 as a real 1.1 writer emits it.
  assert.equal(parseEmotion2vecConfig(FIXTURE_CONFIG.replace('norm_eps: 1.0e-05', 'norm_eps: 1e-05')).normEps, 1e-5);
});

test('missing or wrong fields are model_invalid naming the field', () => {
  assert.throws(() => parseEmotion2vecConfig(FIXTURE_CONFIG.replace('  embed_dim: 64\n', '')), invalid(/no model_conf\.embed_dim\b/));
  assert.throws(
    () => parseEmotion2vecConfig(FIXTURE_CONFIG.replace('      prenet_depth: 2\n', '')),
    invalid(/no model_conf\.modalities\.audio\.prenet_depth\b/),
  );
  assert.throws(() => parseEmotion2vecConfig(FIXTURE_CONFIG.replace(/ {6}feature_encoder_spec: .*\n/, '')), invalid(/feature_encoder_spec/));
  assert.throws(
    () => parseEmotion2vecConfig(FIXTURE_CONFIG.replace('norm_eps: 1.0e-05', 'norm_eps: tiny')),
    invalid(/model_conf\.norm_eps = "tiny".*a number/),
  );
  assert.throws(() => parseEmotion2vecConfig(FIXTURE_CONFIG.replace('depth: 2\n  start', 'depth: 2.5\n  start')), invalid(/model_conf\.depth/));
  assert.throws(() => parseEmotion2vecConfig(FIXTURE_CONFIG.replace('num_heads: 4', 'num_heads: 5')), invalid(/multiple of num_heads/));
  assert.throws(
    () => parseEmotion2vecConfig(FIXTURE_CONFIG.replace('layer_norm_first: false', 'layer_norm_first: maybe')),
    invalid(/layer_norm_first.*true or false/),
  );
  assert.throws(() => parseEmotion2vecConfig('model: x\n'), invalid(/no model_conf\b/));
  assert.throws(() => parseEmotion2vecConfig('model_conf: [1, 2'), invalid(/not valid YAML/));
  assert.throws(() => parseEmotion2vecConfig(FIXTURE_CONFIG.replace('  modalities:\n', '  modalitiez:\n')), invalid(/no model_conf\.modalities\b/));
});

test('tokens.txt: zh/en pairs, <unk>, masked unuse labels', () => {
  const labels = parseTokens('\uFEFF生气/angry\r\n厌恶/disgusted\nunuse_0\nunuse_1/unuse_1\n<unk>\n\n');
  assert.deepEqual(labels.en, ['angry', 'disgusted', 'unuse_0', 'unuse_1', 'unknown']);
  assert.deepEqual(labels.zh, ['生气', '厌恶', 'unuse_0', 'unuse_1', '未知']);
  assert.deepEqual(labels.masked, [false, false, true, true, false]);
  const fixture = parseTokens(readFileSync(new URL('../../fixtures/emotion2vec-reference/tokens.txt', import.meta.url), 'utf8'));
  assert.deepEqual(fixture.en, ['angry', 'disgusted', 'fearful', 'happy', 'neutral', 'other', 'sad', 'surprised', 'unknown']);
  assert.throws(() => parseTokens('\n \n'), invalid(/no labels/));
  assert.throws(() => parseTokens('生气/\n'), invalid(/cannot read/));
});
