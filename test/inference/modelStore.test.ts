import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { isVoicemoodError } from '../../src/domain/errors.ts';
import { CONVERTER_VERSION } from '../../src/inference/convert/version.ts';
import {
  checkpointDirFor,
  fileUrl,
  loadRegistry,
  mirrorEndpoint,
  olderConverterNotice,
  onnxPathFor,
  parseModelSpec,
  publishedIds,
} from '../../src/inference/modelStore.ts';

describe('model store', () => {
  it('knows the three published models, base by default', () => {
    assert.deepEqual(publishedIds(), ['emotion2vec_plus_seed', 'emotion2vec_plus_base', 'emotion2vec_plus_large']);
    assert.equal(loadRegistry().defaultModel, 'emotion2vec_plus_base');
    assert.deepEqual(loadRegistry().files, ['config.yaml', 'tokens.txt', 'model.pt']);
  });

  it('reads VOICEMOOD_MODEL values: ids, :int8, paths', () => {
    assert.deepEqual(parseModelSpec(undefined), { kind: 'published', id: 'emotion2vec_plus_base', quantization: 'fp32' });
    assert.deepEqual(parseModelSpec(' '), { kind: 'published', id: 'emotion2vec_plus_base', quantization: 'fp32' });
    assert.deepEqual(parseModelSpec('emotion2vec_plus_large:int8'), { kind: 'published', id: 'emotion2vec_plus_large', quantization: 'int8' });
    assert.deepEqual(parseModelSpec('model.onnx'), { kind: 'path', path: resolve('model.onnx') });
    assert.deepEqual(parseModelSpec('/m/x'), { kind: 'path', path: '/m/x' });
    assert.throws(
      () => parseModelSpec('emotion2vec_plus_huge'),
      (e) => isVoicemoodError(e, 'bad_input') && /emotion2vec_plus_seed, emotion2vec_plus_base, emotion2vec_plus_large/.test(e.message),
    );
    assert.throws(
      () => parseModelSpec('emotion2vec_plus_base:int4'),
      (e) => isVoicemoodError(e, 'bad_input'),
    );
  });

  it('lays files out as <id>/<revision>/ and <id>[.int8].onnx, refusing odd revisions', () => {
    assert.equal(onnxPathFor('/m', 'emotion2vec_plus_base'), '/m/emotion2vec_plus_base.onnx');
    assert.equal(onnxPathFor('/m', 'emotion2vec_plus_base', 'int8'), '/m/emotion2vec_plus_base.int8.onnx');
    assert.equal(checkpointDirFor('/m', 'emotion2vec_plus_base', 'main'), '/m/emotion2vec_plus_base/main');
    for (const bad of ['..', '.', 'a/b', 'x y', ''])
      assert.throws(
        () => checkpointDirFor('/m', 'emotion2vec_plus_base', bad),
        (e) => isVoicemoodError(e, 'bad_input'),
      );
  });

  it('builds Hugging Face and ModelScope URLs, with host overrides', () => {
    assert.equal(
      fileUrl({ mirror: 'huggingface', endpoint: mirrorEndpoint('huggingface', {}), id: 'emotion2vec_plus_base', revision: 'main', file: 'model.pt' }),
      'https://huggingface.co/emotion2vec/emotion2vec_plus_base/resolve/main/model.pt',
    );
    assert.equal(
      fileUrl({ mirror: 'modelscope', endpoint: mirrorEndpoint('modelscope', {}), id: 'emotion2vec_plus_large', revision: 'master', file: 'config.yaml' }),
      'https://modelscope.cn/api/v1/models/iic/emotion2vec_plus_large/repo?Revision=master&FilePath=config.yaml',
    );
    assert.equal(mirrorEndpoint('huggingface', { VOICEMOOD_HF_ENDPOINT: 'https://hf-mirror.com/' }), 'https://hf-mirror.com');
    assert.equal(mirrorEndpoint('huggingface', { VOICEMOOD_HF_ENDPOINT: 'https://hf-mirror.com' }, 'http://127.0.0.1:9'), 'http://127.0.0.1:9');
    assert.throws(
      () => mirrorEndpoint('huggingface', {}, 'file:///etc'),
      (e) => isVoicemoodError(e, 'bad_input'),
    );
    assert.throws(
      () => mirrorEndpoint('huggingface', {}, 'not a url'),
      (e) => isVoicemoodError(e, 'bad_input'),
    );
  });
});

describe('olderConverterNotice', () => {
  it('says nothing for the current converter and names both versions for an older one', () => {
    assert.equal(olderConverterNotice({ path: '/m/a.onnx', converterVersion: CONVERTER_VERSION }), undefined);
    const notice = olderConverterNotice({ path: '/m/a.onnx', converterVersion: '2' });
    assert.match(notice ?? '', /\/m\/a\.onnx was converted by an older voicemood \(converter 2, now \d+\)/);
    assert.match(notice ?? '', /voicemood model convert/);
  });
});
