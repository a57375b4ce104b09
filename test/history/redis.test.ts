/** The same store on Redis (KEYV_URL=redis://…), against a redis-server started for this test. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipWithoutRedis, startRedis, type TestRedis } from '../helpers/redis.ts';
import { openHistory } from '../../src/history/open.ts';
import type { HistoryStore } from '../../src/domain/history.ts';
import { entry } from './helpers.ts';

// Fails rather than skips in CI (CI=true), where scripts/setup.sh installs redis-server.
const skip = skipWithoutRedis;
let redis: TestRedis | undefined;
let url = '';

before(async () => {
  if (skip) return;
  redis = await startRedis();
  url = redis.url;
});

after(() => {
  redis?.stop();
});

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
  assert.deepEqual(
    (await h2.listUser('telegram', '42')).map((e) => e.userName),
    ['tg42'],
  );
  assert.deepEqual(
    (await h2.listUser('discord', '42')).map((e) => e.userName),
    ['dc42'],
  );
  assert.deepEqual((await h2.listChat('telegram', '7')).map((e) => e.userName).sort(), ['tg42', 'tg43']);
  assert.deepEqual(await h2.getUserSettings('telegram', '42'), { lang: 'zh' });

  const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => h2.append(entry({ userId: 'busy', chatId: 'c', at: Date.now() + i })).then((e) => e.id)));
  assert.equal(new Set((await h2.listUser('telegram', 'busy')).map((e) => e.id)).size, 200);
  assert.equal(new Set(ids).size, 200);

  assert.deepEqual(await h2.forgetUser('telegram', '42'), { entries: 1, chatEntries: 1, settings: 1, alertSubscriptions: 0 });
  assert.deepEqual(await h2.listUser('telegram', '42'), []);
  assert.deepEqual(
    (await h2.listChat('telegram', '7')).map((e) => e.userName),
    ['tg43'],
  );
  assert.equal((await h2.listUser('discord', '42')).length, 1);
  assert.equal(await h2.prune(Date.now() + 400 * 86_400_000), 202, 'prune scans redis keys');
  await h2.close();
});
