/**
 * Two processes appending for the same user on one Redis store (two gateways on one KEYV_URL):
 * the read-modify-writes of the user's hourly bucket and metas hold Redis locks (RedisKeyLock),
 * so no entry of either process is lost.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openHistory } from '../../src/history/open.ts';
import { skipWithoutRedis, startRedis, type TestRedis } from '../helpers/redis.ts';
import { tempDir } from './helpers.ts';

const CHILD = fileURLToPath(new URL('./appendProcess.ts', import.meta.url));
let redis: TestRedis | undefined;
let dir = '';

before(async () => {
  dir = tempDir();
  if (!skipWithoutRedis) redis = await startRedis();
});
after(() => {
  redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function child(url: string, userId: string, count: number, go: string, tag: string): { ready: Promise<void>; done: Promise<string> } {
  const proc = spawn(process.execPath, [CHILD, url, userId, String(count), go, tag], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready')) onReady();
  });
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<string>((resolve, reject) =>
    proc.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${out}`)))),
  );
  return { ready, done };
}

test('two processes appending for the same user on one Redis lose nothing', { skip: skipWithoutRedis, timeout: 120_000 }, async () => {
  const go = join(dir, 'go');
  const a = child(redis!.url, 'shared', 150, go, 'A');
  const b = child(redis!.url, 'shared', 150, go, 'B');
  await Promise.all([a.ready, b.ready]);
  writeFileSync(go, '');
  assert.match(await a.done, /appended 150/);
  assert.match(await b.done, /appended 150/);
  const h = await openHistory({ url: redis!.url, pruneEveryMs: 0 });
  try {
    const entries = await h.listUser('telegram', 'shared', { limit: 1000 });
    const by = (tag: string): number => entries.filter((e) => e.userName === tag).length;
    assert.deepEqual({ A: by('A'), B: by('B') }, { A: 150, B: 150 });
    let chatTotal = 0;
    for (const c of ['chat-0', 'chat-1', 'chat-2']) chatTotal += (await h.listChat('telegram', c, { limit: 1000 })).length;
    assert.equal(chatTotal, 300, 'the chat indexes too');
  } finally {
    await h.close();
  }
});
