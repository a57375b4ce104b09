/**
 * Issue 7, isolation as a property: for random histories over colliding ids on both platforms,
 * every user's view is exactly their own entries and every chat's view exactly its own, before
 * and after forgetting a random user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openHistory } from '../../src/history/open.ts';
import type { HistoryEntry } from '../../src/domain/history.ts';
import type { Platform } from '../../src/domain/platform.ts';
import { entry } from './helpers.ts';

// Few ids, so that users, chats and platforms collide often; some with key separators in them.
const ids = fc.constantFrom('1', '2', '42', 'a/b', 'a', 'b', 'meta', '1/h/2026');
const platform = fc.constantFrom<Platform>('telegram', 'discord');
const op = fc.record({ platform, userId: ids, chatId: ids, dtS: fc.integer({ min: 0, max: 7200 }) });

test('random histories: /me and /mood views never cross users, chats or platforms', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), platform, ids, async (ops, forgetPlatform, forgetId) => {
      const h = await openHistory({ url: 'sqlite://:memory:', pruneEveryMs: 0 });
      try {
        const t0 = Date.now() - 3 * 3_600_000;
        const model: HistoryEntry[] = [];
        for (const o of ops) model.push(await h.append(entry({ platform: o.platform, userId: o.userId, chatId: o.chatId, at: t0 + o.dtS * 1000 })));
        const check = async (expected: HistoryEntry[]) => {
          for (const p of ['telegram', 'discord'] as const) {
            for (const id of new Set(ops.flatMap((o) => [o.userId, o.chatId]))) {
              const byUser = (await h.listUser(p, id)).map((e) => e.id).sort();
              assert.deepEqual(
                byUser,
                expected
                  .filter((e) => e.platform === p && e.userId === id)
                  .map((e) => e.id)
                  .sort(),
              );
              const byChat = (await h.listChat(p, id)).map((e) => e.id).sort();
              assert.deepEqual(
                byChat,
                expected
                  .filter((e) => e.platform === p && e.chatId === id)
                  .map((e) => e.id)
                  .sort(),
              );
            }
          }
        };
        await check(model);
        const report = await h.forgetUser(forgetPlatform, forgetId);
        const gone = model.filter((e) => e.platform === forgetPlatform && e.userId === forgetId);
        assert.equal(report.entries, gone.length);
        assert.equal(report.chatEntries, gone.length);
        await check(model.filter((e) => !gone.includes(e)));
      } finally {
        await h.close();
      }
    }),
    { numRuns: 60, seed: 20260601 },
  );
});
