import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { downloadFile, type DownloadProgress } from '../../../src/inference/download/fetchFile.ts';
import { randomBytes, startFileServer } from './fileServer.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('downloadFile', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vm-fetch-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('downloads a whole file, reports progress and returns its sha256', async () => {
    const body = randomBytes(300_000, 3);
    const server = await startFileServer({ '/a.bin': { body } });
    try {
      const seen: DownloadProgress[] = [];
      const dest = join(dir, 'full.bin');
      const r = await downloadFile({ url: `${server.url}/a.bin`, dest, onProgress: (p) => seen.push(p) });
      assert.deepEqual(readFileSync(dest), body);
      assert.equal(r.sha256, sha(body));
      assert.equal(r.bytes, body.length);
      assert.equal(r.resumedFrom, 0);
      assert.equal(existsSync(`${dest}.part`), false);
      assert.equal(seen.at(-1)?.received, body.length);
      assert.equal(seen.at(-1)?.total, body.length);
      assert.equal(server.requests[0].headers.range, undefined);
    } finally {
      await server.close();
    }
  });

  it('resumes an interrupted download from the .part file with a Range request', async () => {
    const body = randomBytes(500_000, 5);
    const dropAfter = 123_457;
    const dest = join(dir, 'resumed.bin');
    const partSize = (): number => (existsSync(`${dest}.part`) ? statSync(`${dest}.part`).size : 0);
    const server = await startFileServer({ '/big.bin': { body, dropAfter, dropTimes: 1 } }, partSize);
    try {
      const r = await downloadFile({ url: `${server.url}/big.bin`, dest, retries: 3, backoffMs: 1 });
      assert.equal(server.requests.length, 2);
      assert.equal(server.requests[0].headers.range, undefined);
      // The second request asks for exactly the bytes that are not in the .part file. (How many
      // of the sent bytes reached the disk before the cut depends on the client's buffering.)
      const onDisk = server.requests[1].observed as number;
      assert.ok(onDisk > 0 && onDisk <= dropAfter, `resumed from ${onDisk}`);
      assert.equal(server.requests[1].headers.range, `bytes=${onDisk}-`);
      assert.equal(r.resumedFrom, 0, 'resumedFrom counts what an earlier run left, not retries');
      assert.ok(server.requests[1].headers['if-range'], 'resume is conditional on the same ETag');
      assert.deepEqual(readFileSync(dest), body);
      assert.equal(r.sha256, sha(body));
    } finally {
      await server.close();
    }
  });

  it('resumes a .part left by an earlier process', async () => {
    const body = randomBytes(200_000, 7);
    const server = await startFileServer({ '/f.bin': { body } });
    try {
      const dest = join(dir, 'earlier.bin');
      writeFileSync(`${dest}.part`, body.subarray(0, 80_000));
      writeFileSync(`${dest}.part.json`, JSON.stringify({ url: `${server.url}/f.bin`, total: body.length }));
      const r = await downloadFile({ url: `${server.url}/f.bin`, dest });
      assert.equal(server.requests[0].headers.range, 'bytes=80000-');
      assert.equal(r.resumedFrom, 80_000);
      assert.deepEqual(readFileSync(dest), body);
    } finally {
      await server.close();
    }
  });

  it('stops when aborted, keeps the .part, and the next call resumes it', async () => {
    const body = randomBytes(400_000, 17);
    const dest = join(dir, 'aborted.bin');
    const partSize = (): number => (existsSync(`${dest}.part`) ? statSync(`${dest}.part`).size : 0);
    const server = await startFileServer({ '/slow.bin': { body } }, partSize);
    try {
      const controller = new AbortController();
      await assert.rejects(
        downloadFile({
          url: `${server.url}/slow.bin`,
          dest,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.received > 50_000) controller.abort(new Error('stop'));
          },
        }),
        /stop/,
      );
      assert.equal(existsSync(dest), false);
      const kept = partSize();
      assert.ok(kept > 50_000 && kept < body.length);
      assert.equal(JSON.parse(readFileSync(`${dest}.part.json`, 'utf8')).total, body.length);
      const r = await downloadFile({ url: `${server.url}/slow.bin`, dest });
      assert.equal(server.requests[1].headers.range, `bytes=${kept}-`);
      assert.equal(r.resumedFrom, kept);
      assert.deepEqual(readFileSync(dest), body);
    } finally {
      await server.close();
    }
  });

  it('rejects a file whose sha256 does not match and leaves nothing behind', async () => {
    const body = randomBytes(50_000, 9);
    const server = await startFileServer({ '/x.bin': { body } });
    try {
      const dest = join(dir, 'badsha.bin');
      await assert.rejects(downloadFile({ url: `${server.url}/x.bin`, dest, sha256: 'ab'.repeat(32) }), (e) => {
        assert.ok(isVoicemoodError(e, 'download_failed'));
        assert.match(e.message, /sha256/);
        return true;
      });
      assert.equal(existsSync(dest), false);
      assert.equal(existsSync(`${dest}.part`), false);
    } finally {
      await server.close();
    }
  });

  it('checks the sha256 that the server vouches for (X-Linked-Etag) across a redirect', async () => {
    const body = randomBytes(40_000, 11);
    const good = await startFileServer({
      '/resolve/model.pt': { body, redirectTo: '/cdn/model.pt', linkedEtag: sha(body) },
      '/cdn/model.pt': { body },
    });
    const bad = await startFileServer({
      '/resolve/model.pt': { body, redirectTo: '/cdn/model.pt', linkedEtag: 'cd'.repeat(32) },
      '/cdn/model.pt': { body },
    });
    try {
      const r = await downloadFile({ url: `${good.url}/resolve/model.pt`, dest: join(dir, 'linked-ok.pt') });
      assert.equal(r.serverSha256, sha(body));
      const dest = join(dir, 'linked-bad.pt');
      await assert.rejects(
        downloadFile({ url: `${bad.url}/resolve/model.pt`, dest }),
        (e) => isVoicemoodError(e, 'download_failed') && /the server expects/.test(e.message),
      );
      assert.equal(existsSync(dest), false);
    } finally {
      await good.close();
      await bad.close();
    }
  });

  it('gives up with a clear download_failed when the server keeps cutting the body short', async () => {
    const body = randomBytes(30_000, 13);
    const server = await startFileServer({ '/short.bin': { body, announceLength: body.length + 1000 } });
    try {
      const dest = join(dir, 'short.bin');
      await assert.rejects(downloadFile({ url: `${server.url}/short.bin`, dest, retries: 2, backoffMs: 1 }), (e) => {
        assert.ok(isVoicemoodError(e, 'download_failed'));
        assert.match(e.message, /after 3 attempts/);
        return true;
      });
      assert.equal(existsSync(dest), false, 'an incomplete file is never at the destination');
    } finally {
      await server.close();
    }
  });

  it('answers a 404 at once with a message naming the file', async () => {
    const server = await startFileServer({});
    try {
      await assert.rejects(downloadFile({ url: `${server.url}/nope/model.pt`, dest: join(dir, 'nope.pt'), label: 'model.pt', backoffMs: 1 }), (e) => {
        assert.ok(isVoicemoodError(e, 'download_failed'));
        assert.match(e.message, /model\.pt was not found .*404/);
        return true;
      });
      assert.equal(server.requests.length, 1, 'a 404 is not retried');
    } finally {
      await server.close();
    }
  });

  it('retries a 503 with back-off and then succeeds', async () => {
    const body = randomBytes(20_000, 19);
    const server = await startFileServer({ '/busy.bin': { body, status: 503, statusTimes: 2 } });
    try {
      const retries: number[] = [];
      const r = await downloadFile({ url: `${server.url}/busy.bin`, dest: join(dir, 'busy.bin'), backoffMs: 1, onRetry: (x) => retries.push(x.attempt) });
      assert.deepEqual(retries, [1, 2]);
      assert.equal(server.requests.length, 3);
      assert.equal(r.sha256, sha(body));
    } finally {
      await server.close();
    }
  });

  it('explains a 401 (how Hugging Face answers for a missing repository) without retrying', async () => {
    const server = await startFileServer({ '/private.bin': { body: Buffer.alloc(1), status: 401 } });
    try {
      await assert.rejects(
        downloadFile({ url: `${server.url}/private.bin`, dest: join(dir, 'private.bin'), backoffMs: 1 }),
        (e) => isVoicemoodError(e, 'download_failed') && /HTTP 401: the repository does not exist/.test(e.message),
      );
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
    }
  });

  it('retries when the host cannot be reached, then fails clearly', async () => {
    const server = await startFileServer({});
    const url = `${server.url}/gone.bin`;
    await server.close(); // nothing listens on that port any more
    await assert.rejects(
      downloadFile({ url, dest: join(dir, 'gone.bin'), retries: 1, backoffMs: 1 }),
      (e) => isVoicemoodError(e, 'download_failed') && /cannot reach/.test(e.message),
    );
  });
});
