/**
 * Where model files may come from: https only (http only from loopback), redirects only to https
 * (or loopback http from a loopback start) with a hop limit, and a size cap enforced while
 * streaming. Against the local file server; the fetch is wrapped to record every URL requested.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { downloadFile } from '../../../src/inference/download/fetchFile.ts';
import { pullModel } from '../../../src/inference/download/pull.ts';
import { MAX_REDIRECTS, refusalFor, sizeCapFor } from '../../../src/inference/download/urlPolicy.ts';
import { mirrorEndpoint } from '../../../src/inference/modelStore.ts';
import { isLoopbackHost } from '../../../src/util/loopback.ts';
import { randomBytes, startFileServer } from './fileServer.ts';

function recordingFetch(): { fetchImpl: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  const fetchImpl: typeof fetch = (input, init) => {
    urls.push(String(input));
    return fetch(input, init);
  };
  return { fetchImpl, urls };
}

describe('download URL policy', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vm-urlpolicy-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, target] of [
    ['http to another host', 'http://mirror.example.com/model.pt'],
    ['file:', 'file:///etc/passwd'],
    ['ftp:', 'ftp://127.0.0.1/model.pt'],
  ] as const) {
    it(`a redirect to ${name} is refused with a sentence, nothing fetched there, nothing cached`, async () => {
      const server = await startFileServer({ '/resolve/model.pt': { body: randomBytes(1000), redirectTo: target } });
      const { fetchImpl, urls } = recordingFetch();
      const dest = join(dir, `redirect-${name.replace(/\W+/g, '_')}.bin`);
      try {
        await assert.rejects(downloadFile({ url: `${server.url}/resolve/model.pt`, dest, fetchImpl, backoffMs: 1 }), (e) => {
          assert.ok(isVoicemoodError(e, 'download_failed'), String(e));
          assert.match(e.message, /refused to follow a redirect from 127\.0\.0\.1:\d+ \(/);
          return true;
        });
        assert.deepEqual(urls, [`${server.url}/resolve/model.pt`], 'only the first hop was requested');
        assert.equal(server.requests.length, 1, 'no retry of a refusal');
        assert.equal(existsSync(dest), false);
        assert.equal(existsSync(`${dest}.part`), false);
      } finally {
        await server.close();
      }
    });
  }

  it('a redirect to loopback http from a loopback start is followed', async () => {
    const body = randomBytes(5000, 7);
    const server = await startFileServer({ '/a': { body, redirectTo: '/b' }, '/b': { body } });
    try {
      const r = await downloadFile({ url: `${server.url}/a`, dest: join(dir, 'ok.bin') });
      assert.equal(r.bytes, body.length);
    } finally {
      await server.close();
    }
  });

  it(`stops after ${MAX_REDIRECTS} redirect hops`, async () => {
    const server = await startFileServer({ '/loop': { body: Buffer.alloc(1), redirectTo: '/loop' } });
    try {
      await assert.rejects(
        downloadFile({ url: `${server.url}/loop`, dest: join(dir, 'loop.bin') }),
        (e) => isVoicemoodError(e, 'download_failed') && /Too many redirects/.test(e.message),
      );
      assert.equal(server.requests.length, MAX_REDIRECTS + 1);
    } finally {
      await server.close();
    }
  });

  it('a body over the cap without a Content-Length is cut off while streaming and not cached', async () => {
    const body = randomBytes(300_000, 9);
    const server = await startFileServer({ '/big': { body, omitLength: true } });
    const dest = join(dir, 'big.bin');
    try {
      await assert.rejects(
        downloadFile({ url: `${server.url}/big`, dest, maxBytes: 100_000, backoffMs: 1 }),
        (e) => isVoicemoodError(e, 'download_failed') && /larger than the 0\.1 MB expected/.test(e.message),
      );
      assert.equal(server.requests.length, 1, 'not retried');
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.startsWith('big.bin')),
        [],
        'no file, .part or .part.json left',
      );
    } finally {
      await server.close();
    }
  });

  it('an announced length over the cap is refused before any byte is written', async () => {
    const server = await startFileServer({ '/big': { body: randomBytes(300_000, 9) } });
    try {
      await assert.rejects(downloadFile({ url: `${server.url}/big`, dest: join(dir, 'announced.bin'), maxBytes: 100_000 }), (e) =>
        isVoicemoodError(e, 'download_failed'),
      );
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.startsWith('announced.bin')),
        [],
      );
    } finally {
      await server.close();
    }
  });

  it('a file within the cap still downloads (the cap is not off by one)', async () => {
    const body = randomBytes(100_000, 4);
    const server = await startFileServer({ '/fit': { body, omitLength: true } });
    try {
      assert.equal((await downloadFile({ url: `${server.url}/fit`, dest: join(dir, 'fit.bin'), maxBytes: 100_000 })).bytes, 100_000);
    } finally {
      await server.close();
    }
  });

  it('model pull caps each file near the registry size: an oversized config.yaml is refused and not cached', async () => {
    const huge = Buffer.alloc(sizeCapFor(3200) + 50_000, 0x61);
    const server = await startFileServer({ '/emotion2vec/emotion2vec_plus_seed/resolve/main/config.yaml': { body: huge, omitLength: true } });
    const modelsDir = join(dir, 'models');
    try {
      await assert.rejects(
        pullModel({ id: 'emotion2vec_plus_seed', baseUrl: server.url, modelsDir, env: {}, backoffMs: 1 }),
        (e) => isVoicemoodError(e, 'download_failed') && /config\.yaml is larger than/.test(e.message),
      );
      const files = readdirSync(join(modelsDir, 'emotion2vec_plus_seed', 'main'));
      assert.deepEqual(
        files.filter((f) => f.startsWith('config.yaml')),
        [],
      );
    } finally {
      await server.close();
    }
  });

  it('sizeCapFor: 10 % plus 1 MiB over the registry size, 4 GiB when unknown', () => {
    assert.equal(sizeCapFor(1_000_000_000), 1_100_000_000 + 1024 ** 2);
    assert.equal(sizeCapFor(undefined), 4 * 1024 ** 3);
    assert.equal(sizeCapFor(0), 4 * 1024 ** 3);
  });

  it('a start or base URL with http to a non-loopback host is refused with a sentence', async () => {
    for (const bad of ['http://mirror.example.com', 'http://10.0.0.2:8080', 'ftp://127.0.0.1', 'file:///tmp']) {
      assert.throws(
        () => mirrorEndpoint('huggingface', {}, bad),
        (e) => isVoicemoodError(e, 'bad_input') && /The base URL is refused: /.test(e.message),
        bad,
      );
      assert.throws(
        () => mirrorEndpoint('huggingface', { VOICEMOOD_HF_ENDPOINT: bad }),
        (e) => isVoicemoodError(e, 'bad_input'),
        bad,
      );
    }
    for (const good of ['https://hf-mirror.com', 'http://127.0.0.1:8080', 'http://localhost:1', 'http://[::1]:9'])
      assert.equal(mirrorEndpoint('huggingface', {}, `${good}/`), good);
    await assert.rejects(downloadFile({ url: 'http://mirror.example.com/x', dest: join(dir, 'never.bin') }), (e) => isVoicemoodError(e, 'bad_input'));
    assert.equal(existsSync(join(dir, 'never.bin.part')), false);
  });

  it('refusalFor and isLoopbackHost', () => {
    assert.equal(refusalFor(new URL('https://cdn-lfs.hf.co/x'), false), undefined);
    assert.equal(refusalFor(new URL('https://cdn-lfs.hf.co/x'), true), undefined);
    assert.match(refusalFor(new URL('http://127.0.0.1/x'), false)!, /plain http/); // https start may not drop to http, even loopback
    assert.equal(refusalFor(new URL('http://127.0.0.1/x'), true), undefined);
    assert.match(refusalFor(new URL('data:text/plain,hi'), true)!, /not a download scheme/);
    for (const h of ['127.0.0.1', '127.8.9.10', '[::1]', 'localhost', 'a.localhost', '[::ffff:127.0.0.1]'])
      assert.equal(isLoopbackHost(new URL(`http://${h}/`).hostname), true, h);
    for (const h of ['10.0.0.1', '128.0.0.1', 'localhost.example.com', '[::2]', 'example.com', '0.0.0.0'])
      assert.equal(isLoopbackHost(new URL(`http://${h}/`).hostname), false, h);
  });
});
