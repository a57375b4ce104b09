/**
 * `model pull` end to end against a local server that publishes the reference fixture checkpoint
 * as if it were emotion2vec_plus_seed: download (resumable), verify, convert, open, analyze.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { CONVERTER_VERSION } from '../../../src/inference/convert/version.ts';
import { pullModel } from '../../../src/inference/download/pull.ts';
import type { PullEvent } from '../../../src/inference/download/events.ts';
import { openEngine } from '../../../src/inference/engine.ts';
import { listCachedModels } from '../../../src/inference/modelStore.ts';
import { readModelMetadata } from '../../../src/inference/onnx/metadata.ts';
import { EMOTIONS } from '../../../src/domain/emotions.ts';
import { randomBytes, startFileServer, type ServedFile } from './fileServer.ts';

const FIXTURE = new URL('../../fixtures/emotion2vec-reference/', import.meta.url);
const ID = 'emotion2vec_plus_seed';
const fixtureFile = (name: string): Buffer => readFileSync(new URL(name, FIXTURE));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The official files, served where Hugging Face serves them. */
function hfFiles(overrides: Partial<Record<string, Partial<ServedFile>>> = {}, revision = 'main'): Record<string, ServedFile> {
  const out: Record<string, ServedFile> = {};
  for (const f of ['config.yaml', 'tokens.txt', 'model.pt']) out[`/emotion2vec/${ID}/resolve/${revision}/${f}`] = { body: fixtureFile(f), ...overrides[f] };
  return out;
}

/** Mono float32 samples of an IEEE-float WAV (the fixture inputs). */
function readFloatWav(bytes: Buffer): Float32Array {
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = bytes.toString('ascii', pos, pos + 4);
    const size = bytes.readUInt32LE(pos + 4);
    if (id === 'data') return new Float32Array(bytes.buffer.slice(bytes.byteOffset + pos + 8, bytes.byteOffset + pos + 8 + size));
    pos += 8 + size + (size % 2);
  }
  throw new Error('no data chunk');
}

describe('model pull against a local mirror', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'vm-pull-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('first start with no model: openEngine pulls, resumes a broken model.pt, converts and answers like FunASR', async () => {
    const modelPt = fixtureFile('model.pt');
    const dropAfter = 700_001;
    const modelsDir = join(root, 'first');
    const part = join(modelsDir, ID, 'main', 'model.pt.part');
    const server = await startFileServer(hfFiles({ 'model.pt': { dropAfter, dropTimes: 1 } }), () => (existsSync(part) ? statSync(part).size : 0));
    const events: PullEvent[] = [];
    try {
      const engine = await openEngine({
        env: {
          VOICEMOOD_MODEL: ID,
          VOICEMOOD_MODELS_DIR: modelsDir,
          VOICEMOOD_HF_ENDPOINT: server.url,
          VOICEMOOD_CACHE_DIR: join(root, 'cache'),
          VOICEMOOD_ENGINE_THREADS: '1',
        },
        onProgress: (e) => events.push(e),
        pull: { backoffMs: 1 },
      });
      try {
        // Downloaded into <id>/<revision>/, byte-identical, resumed with the right Range.
        const dir = join(modelsDir, ID, 'main');
        assert.deepEqual(readFileSync(join(dir, 'model.pt')), modelPt);
        const ptRequests = server.requests.filter((r) => r.path.endsWith('/model.pt'));
        assert.equal(ptRequests.length, 2);
        const onDisk = ptRequests[1].observed as number;
        assert.ok(onDisk > 0 && onDisk <= dropAfter);
        assert.equal(ptRequests[1].headers.range, `bytes=${onDisk}-`, 'resumed exactly where the .part ended');
        assert.equal(existsSync(join(dir, 'model.pt.part')), false);
        // Converted next to it, from exactly these bytes.
        const onnx = join(modelsDir, `${ID}.onnx`);
        assert.equal(engine.model.path, onnx);
        const meta = await readModelMetadata(onnx);
        assert.equal(meta.sourceModel, ID);
        assert.equal(meta.sourceRevision, 'main');
        assert.equal(meta.checkpointSha256, sha(modelPt));
        const record = JSON.parse(readFileSync(join(dir, 'download.json'), 'utf8'));
        assert.equal(record.files['model.pt'].sha256, sha(modelPt));
        // Progress was reported for every file and for the conversion.
        const done = events.filter((e) => e.type === 'file-done').map((e) => (e as { file: string }).file);
        assert.deepEqual(done, ['config.yaml', 'tokens.txt', 'model.pt']);
        assert.ok(events.some((e) => e.type === 'file' && e.kind === 'convert' && e.file.endsWith('.onnx')));
        assert.ok(
          events.some((e) => e.type === 'stage' && /^model\.pt: .*retrying in \d+ s \(attempt 2 of 6\)/.test(e.text)),
          'the retry was announced',
        );
        // And the pulled model answers as FunASR does on the fixture input.
        const expected = JSON.parse(fixtureFile('expected.json').toString('utf8'));
        const r = await engine.analyze(readFloatWav(fixtureFile('input2.wav')));
        const want = expected.cases[2].scores as number[];
        EMOTIONS.forEach((e, i) => assert.ok(Math.abs(r.scores[e] - want[i]) < 1e-5, `${e}: ${r.scores[e]} vs ${want[i]}`));
      } finally {
        await engine.close();
      }

      // A second pull finds everything cached: no downloads, no conversion.
      const before = server.requests.length;
      const again = await pullModel({ id: ID, modelsDir, baseUrl: server.url, env: {} });
      assert.equal(again.converted, true);
      assert.equal(server.requests.length, before);
      const listed = listCachedModels(modelsDir);
      assert.equal(listed.length, 1);
      assert.equal(listed[0].id, ID);
      assert.equal(listed[0].onnx[0].quantization, 'fp32');
      assert.ok(listed[0].onnx[0].bytes > 100_000);
      assert.deepEqual(
        listed[0].revisions.map((r) => [r.revision, r.complete]),
        [['main', true]],
      );
    } finally {
      await server.close();
    }
  });

  it('pulls an int8 model (VOICEMOOD_MODEL=<id>:int8) from the files already downloaded', async () => {
    const modelsDir = join(root, 'int8');
    const server = await startFileServer(hfFiles());
    try {
      await pullModel({ id: ID, modelsDir, baseUrl: server.url, env: {} });
      const before = server.requests.length;
      const engine = await openEngine({
        env: {
          VOICEMOOD_MODEL: `${ID}:int8`,
          VOICEMOOD_MODELS_DIR: modelsDir,
          VOICEMOOD_HF_ENDPOINT: server.url,
          VOICEMOOD_ENGINE_OPT_CACHE: '0',
          VOICEMOOD_ENGINE_THREADS: '1',
        },
      });
      try {
        assert.equal(server.requests.length, before, 'no new downloads');
        assert.equal(engine.model.path, join(modelsDir, `${ID}.int8.onnx`));
        assert.equal(engine.model.quantization, 'int8');
        assert.equal(engine.model.id, `${ID} (int8)`);
        const r = await engine.analyze(readFloatWav(fixtureFile('input1.wav')));
        assert.ok(Math.abs(Object.values(r.scores).reduce((a, b) => a + b, 0) - 1) < 1e-4);
      } finally {
        await engine.close();
      }
      assert.ok(existsSync(join(modelsDir, `${ID}.onnx`)), 'the fp32 model stays');
    } finally {
      await server.close();
    }
  });

  it('a model converted by an older converter is converted again from the files already here; without them it keeps serving', async () => {
    const modelsDir = join(root, 'older');
    const server = await startFileServer(hfFiles());
    const onnx = join(modelsDir, `${ID}.onnx`);
    /** Rewrites the converter version in the file's metadata (the value is one character, as ours). */
    const makeOld = () => {
      const bytes = readFileSync(onnx);
      const key = Buffer.from('voicemood.converter_version');
      const at = bytes.indexOf(key) + key.length; // then: tag 0x12, length 1, the version
      assert.deepEqual([bytes[at], bytes[at + 1]], [0x12, 1]);
      bytes[at + 2] = '0'.charCodeAt(0);
      writeFileSync(onnx, bytes);
    };
    const open = async () => {
      const events: PullEvent[] = [];
      const engine = await openEngine({
        env: {
          VOICEMOOD_MODEL: ID,
          VOICEMOOD_MODELS_DIR: modelsDir,
          VOICEMOOD_HF_ENDPOINT: server.url,
          VOICEMOOD_ENGINE_OPT_CACHE: '0',
          VOICEMOOD_ENGINE_THREADS: '1',
        },
        onProgress: (e) => events.push(e),
      });
      await engine.close();
      return { path: engine.model.path, stages: events.flatMap((e) => (e.type === 'stage' ? [e.text] : [])) };
    };
    try {
      await pullModel({ id: ID, modelsDir, baseUrl: server.url, env: {} });
      const downloads = server.requests.length;
      makeOld();
      assert.equal((await readModelMetadata(onnx)).converterVersion, '0');
      const again = await open();
      assert.equal(again.path, onnx);
      assert.ok(
        again.stages.some((t) => t.startsWith('Converting')),
        again.stages.join('\n'),
      );
      assert.equal((await readModelMetadata(onnx)).converterVersion, CONVERTER_VERSION);
      assert.equal(server.requests.length, downloads, 'no download');
      // Current: opened as it is.
      const current = await open();
      assert.deepEqual(current.stages, []);
      // Older again, but model.pt is gone: the old file serves, nothing is fetched.
      makeOld();
      rmSync(join(modelsDir, ID, 'main', 'model.pt'));
      const kept = await open();
      assert.equal(kept.path, onnx);
      assert.deepEqual(kept.stages, []);
      assert.equal((await readModelMetadata(onnx)).converterVersion, '0');
      assert.equal(server.requests.length, downloads, 'no download');
    } finally {
      await server.close();
    }
  });

  it('downloads from the ModelScope URL form when asked', async () => {
    const files: Record<string, ServedFile> = {};
    for (const f of ['config.yaml', 'tokens.txt', 'model.pt']) files[`/api/v1/models/iic/${ID}/repo?Revision=v1.0&FilePath=${f}`] = { body: fixtureFile(f) };
    const server = await startFileServer(files);
    try {
      const r = await pullModel({ id: ID, mirror: 'modelscope', revision: 'v1.0', modelsDir: join(root, 'ms'), baseUrl: server.url, env: {} });
      assert.equal(r.revision, 'v1.0');
      assert.ok(existsSync(r.onnxPath));
      assert.equal(server.requests.length, 3);
    } finally {
      await server.close();
    }
  });

  it('rejects a model.pt that is not a torch archive and keeps nothing of it', async () => {
    const server = await startFileServer(hfFiles({ 'model.pt': { body: randomBytes(100_000, 21) } }));
    const modelsDir = join(root, 'notzip');
    try {
      await assert.rejects(pullModel({ id: ID, modelsDir, baseUrl: server.url, env: {} }), (e) => {
        assert.ok(isVoicemoodError(e, 'download_failed'));
        assert.match(e.message, /model\.pt .*not a PyTorch checkpoint/);
        return true;
      });
      assert.equal(existsSync(join(modelsDir, ID, 'main', 'model.pt')), false);
      assert.equal(existsSync(join(modelsDir, `${ID}.onnx`)), false);
    } finally {
      await server.close();
    }
  });

  it('rejects a model.pt whose pickle is damaged (the zip CRC catches it) and removes it', async () => {
    // Flip bytes inside data.pkl, torch's first entry: the archive still opens, its CRC-32 fails.
    const damaged = Buffer.from(fixtureFile('model.pt'));
    const pkl = damaged.indexOf('data.pkl');
    assert.ok(pkl > 0 && pkl < 200);
    for (let i = 0; i < 16; i++) damaged[pkl + 200 + i] ^= 0xff;
    const server = await startFileServer(hfFiles({ 'model.pt': { body: damaged } }));
    const modelsDir = join(root, 'damaged');
    try {
      await assert.rejects(
        pullModel({ id: ID, modelsDir, baseUrl: server.url, env: {} }),
        (e) => isVoicemoodError(e, 'download_failed') && /cannot be converted/.test(e.message),
      );
      const dir = join(modelsDir, ID, 'main');
      assert.equal(existsSync(join(dir, 'model.pt')), false, 'not left in the cache as good');
      assert.equal(JSON.parse(readFileSync(join(dir, 'download.json'), 'utf8')).files['model.pt'], undefined);
      assert.equal(existsSync(join(modelsDir, `${ID}.onnx`)), false);
      assert.ok(existsSync(join(dir, 'config.yaml')), 'the good small files stay');
    } finally {
      await server.close();
    }
  });

  it('says clearly when a revision does not exist (404)', async () => {
    const server = await startFileServer(hfFiles());
    try {
      await assert.rejects(pullModel({ id: ID, revision: 'v9', modelsDir: join(root, 'v9'), baseUrl: server.url, env: {} }), (e) => {
        assert.ok(isVoicemoodError(e, 'download_failed'));
        assert.match(e.message, /config\.yaml was not found at .*\/resolve\/v9\/config\.yaml \(HTTP 404\)/);
        return true;
      });
    } finally {
      await server.close();
    }
  });

  it('refuses unknown ids, mirrors and odd revisions before any request', async () => {
    await assert.rejects(
      pullModel({ id: 'emotion2vec_plus_huge', env: {} }),
      (e) => isVoicemoodError(e, 'bad_input') && /emotion2vec_plus_base/.test(e.message),
    );
    await assert.rejects(pullModel({ id: ID, env: { VOICEMOOD_MODEL_MIRROR: 'ftp' } }), (e) => isVoicemoodError(e, 'bad_input'));
    await assert.rejects(pullModel({ id: ID, revision: '../../etc', modelsDir: root, env: {} }), (e) => isVoicemoodError(e, 'bad_input'));
  });
});
