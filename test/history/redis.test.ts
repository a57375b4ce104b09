/** The same store on Redis (KEYV_URL=redis://…), against a redis-server started for this test. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../helpers/net.ts';
import { openHistory } from '../../src/history/open.ts';
import type { HistoryStore } from '../../src/history/types.ts';
import { entry } from './helpers.ts';

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
let redis: ChildProcess | undefined;
let url = '';


async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => (c.end(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server did not listen on ${port}`);
}

before(async () => {
  if (!hasRedis) return;
  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitForPort(port);
  url = `redis://127.0.0.1:${port}`;
});

after(() => {
  redis?.kill('SIGKILL');
});

const skip = hasRedis ? false : 'redis-server is not installed (apt-get install redis-server)';

async function open(): Promise<HistoryStore & { backend: string }> {
  return openHistory({ url });
}

test('redis: append, reopen, isolation, forget, concurrency', { skip }, async () => {
  const h = await open();
  assert.match(h.backend, /^redis:\/\/127\.0\.0\.1/);
  await h.append(entry({ platform: 'telegram', userId: '42', chatId: '7', userName: 'tg42' }));
  await h.append(entry({ platform: 'discord', userId: '42', chatId: '7', userName: 'dc42' }));
  await h.append(entry({ platform: 'telegram', userId: '43', chatId: '7', userName: 'tg43' }));
  await h.setUserSettings('telegram', '42', { lang: 'zh' });
  await h.close();

  const h2 = await open();
  assert.deepEqual((await h2.listUser('telegram', '42')).map((e) => e.userName), ['tg42']);
  assert.deepEqual((await h2.listUser('discord', '42')).map((e) => e.userName), ['dc42']);
  assert.deepEqual((await h2.listChat('telegram', '7')).map((e) => e.userName).sort(), ['tg42', 'tg43']);
  assert.deepEqual(await h2.getUserSettings('telegram', '42'), { lang: 'zh' });

  const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => h2.append(entry({ userId: 'busy', chatId: 'c', at: Date.now() + i })).then((e) => e.id)));
  assert.equal(new Set((await h2.listUser('telegram', 'busy')).map((e) => e.id)).size, 200);
  assert.equal(new Set(ids).size, 200);

  assert.deepEqual(await h2.forgetUser('telegram', '42'), { entries: 1, chatEntries: 1, settings: 1, alertSubscriptions: 0 });
  assert.deepEqual(await h2.listUser('telegram', '42'), []);
  assert.deepEqual((await h2.listChat('telegram', '7')).map((e) => e.userName), ['tg43']);
  assert.equal((await h2.listUser('discord', '42')).length, 1);
  assert.equal(await h2.prune(Date.now() + 400 * 86_400_000), 202, 'prune scans redis keys');
  await h2.close();
});
