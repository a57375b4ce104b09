import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireLock } from '../../../src/inference/download/lock.ts';
import { pullModel } from '../../../src/inference/download/pull.ts';
import { startFileServer, type ServedFile } from './fileServer.ts';

describe('pull lock', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vm-lock-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a second holder wait until the first releases', async () => {
    const path = join(dir, 'a.lock');
    const first = await acquireLock(path, { pollMs: 5 });
    let waited = 0;
    let acquired = false;
    const second = acquireLock(path, { pollMs: 5, onWait: () => waited++ }).then((l) => {
      acquired = true;
      return l;
    });
    await sleep(50);
    assert.equal(acquired, false, 'still held by the first');
    assert.equal(waited, 1);
    await first.release();
    const lock = await second;
    assert.equal(acquired, true);
    assert.equal(readFileSync(path, 'utf8').trim(), String(process.pid));
    await lock.release();
    assert.equal(existsSync(path), false);
  });

  it('takes over a lock whose holder stopped refreshing it', async () => {
    const path = join(dir, 'stale.lock');
    writeFileSync(path, '999999\n');
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const lock = await acquireLock(path, { staleMs: 30_000, pollMs: 5 });
    assert.equal(readFileSync(path, 'utf8').trim(), String(process.pid));
    await lock.release();
  });

  it('two concurrent pulls of one model download each file once and both succeed', async () => {
    const fixture = new URL('../../fixtures/emotion2vec-reference/', import.meta.url);
    const files: Record<string, ServedFile> = {};
    for (const f of ['config.yaml', 'tokens.txt', 'model.pt'])
      files[`/emotion2vec/emotion2vec_plus_seed/resolve/main/${f}`] = { body: readFileSync(new URL(f, fixture)) };
    const server = await startFileServer(files);
    try {
      const modelsDir = join(dir, 'models');
      const [a, b] = await Promise.all([0, 1].map(() => pullModel({ id: 'emotion2vec_plus_seed', modelsDir, baseUrl: server.url, env: {} })));
      assert.equal(a.onnxPath, b.onnxPath);
      assert.ok(existsSync(a.onnxPath));
      assert.equal(server.requests.length, 3, 'each official file fetched once');
      assert.deepEqual([a.converted, b.converted].sort(), [false, true], 'converted once; the other found it done');
    } finally {
      await server.close();
    }
  });
});
