import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { openHistory } from '../../src/history/open.ts';
import { isVoicemoodError } from '../../src/domain/errors.ts';
import { entry, tempDir } from './helpers.ts';

const DAY = 86_400_000;

test('sqlite: entries and settings survive close and reopen', async () => {
  const dir = tempDir();
  const env = { VOICEMOOD_DATA_DIR: dir };
  const h1 = await openHistory({ env });
  assert.match(h1.backend, /sqlite file .*history\.sqlite/);
  const a = await h1.append(entry({ userId: 'alice', chatId: 'g1' }));
  await h1.append(entry({ userId: 'alice', chatId: 'g2', scores: undefined }));
  await h1.setUserSettings('telegram', 'alice', { lang: 'zh' });
  await h1.setChatSettings('telegram', 'g1', { replyMode: 'on_demand', moderation: { repeatCount: 5 } });
  await h1.close();
  assert.ok(existsSync(join(dir, 'history.sqlite')));

  const h2 = await openHistory({ env });
  const mine = await h2.listUser('telegram', 'alice');
  assert.equal(mine.length, 2);
  assert.deepEqual(mine[0], a);
  assert.deepEqual(await h2.getUserSettings('telegram', 'alice'), { lang: 'zh' });
  const cs = await h2.getChatSettings('telegram', 'g1');
  assert.equal(cs.replyMode, 'on_demand');
  assert.equal(cs.moderation.repeatCount, 5);
  assert.equal(cs.consentMode, 'opt_in'); // defaults filled in
  assert.equal((await h2.getChatSettings('telegram', 'other')).replyMode, 'auto');
  await h2.close();
});

test('isolation: users, chats and platforms never see each other', async () => {
  const h = await openHistory({ env: { VOICEMOOD_DATA_DIR: tempDir() } });
  await h.append(entry({ platform: 'telegram', userId: '42', chatId: '7', userName: 'tg42' }));
  await h.append(entry({ platform: 'telegram', userId: '42', chatId: '8', userName: 'tg42' }));
  await h.append(entry({ platform: 'discord', userId: '42', chatId: '7', guildId: '100', userName: 'dc42' }));
  await h.append(entry({ platform: 'telegram', userId: '43', chatId: '7', userName: 'tg43' }));
  // Ids that would collide if keys were built naively.
  await h.append(entry({ platform: 'telegram', userId: '4/d/2', chatId: '7/meta', userName: 'tricky' }));

  const tg42 = await h.listUser('telegram', '42');
  assert.deepEqual(
    tg42.map((e) => [e.platform, e.userId]),
    [
      ['telegram', '42'],
      ['telegram', '42'],
    ],
  );
  const dc42 = await h.listUser('discord', '42');
  assert.deepEqual(
    dc42.map((e) => e.userName),
    ['dc42'],
  );
  assert.deepEqual(
    (await h.listUser('telegram', '43')).map((e) => e.userName),
    ['tg43'],
  );
  assert.deepEqual((await h.listUser('telegram', '4')).length, 0);

  const chat7 = await h.listChat('telegram', '7');
  assert.deepEqual(chat7.map((e) => e.userName).sort(), ['tg42', 'tg43']);
  assert.deepEqual(
    (await h.listChat('discord', '7')).map((e) => e.userName),
    ['dc42'],
  );
  assert.deepEqual(
    (await h.listChat('telegram', '8')).map((e) => e.userName),
    ['tg42'],
  );
  assert.deepEqual(
    (await h.listChat('telegram', '7/meta')).map((e) => e.userName),
    ['tricky'],
  );

  await h.setUserSettings('telegram', '42', { lang: 'zh' });
  assert.deepEqual(await h.getUserSettings('discord', '42'), {});
  await h.close();
});

test('forgetUser deletes entries, chat copies, settings and alert subscriptions, and counts them', async () => {
  const h = await openHistory({ env: { VOICEMOOD_DATA_DIR: tempDir() } });
  for (let i = 0; i < 3; i++) await h.append(entry({ userId: 'a', chatId: 'x' }));
  await h.append(entry({ userId: 'a', chatId: 'y' }));
  await h.append(entry({ userId: 'b', chatId: 'x' }));
  await h.append(entry({ platform: 'discord', userId: 'a', chatId: 'x' }));
  await h.setUserSettings('telegram', 'a', { privacy: 'out', lang: 'zh' });
  await h.setChatSettings('telegram', 'x', { alertAdmins: ['a', 'b'] });

  const report = await h.forgetUser('telegram', 'a');
  assert.deepEqual(report, { entries: 4, chatEntries: 4, settings: 1, alertSubscriptions: 1, keptOptOut: true });
  assert.deepEqual(await h.listUser('telegram', 'a'), []);
  assert.deepEqual(
    (await h.listChat('telegram', 'x')).map((e) => e.userId),
    ['b'],
  );
  assert.deepEqual(await h.listChat('telegram', 'y'), []);
  // Only the opt-out marker is kept: /forget must not switch analysis back on.
  assert.deepEqual(await h.getUserSettings('telegram', 'a'), { privacy: 'out' });
  assert.deepEqual((await h.getChatSettings('telegram', 'x')).alertAdmins, ['b']);
  // The same id on the other platform is another person.
  assert.equal((await h.listUser('discord', 'a')).length, 1);
  // Only the marker left: nothing more to delete, and it stays.
  assert.deepEqual(await h.forgetUser('telegram', 'a'), { entries: 0, chatEntries: 0, settings: 0, alertSubscriptions: 0, keptOptOut: true });
  assert.deepEqual(await h.getUserSettings('telegram', 'a'), { privacy: 'out' });
  await h.close();
});

test('forgetUser keeps only opt-outs (global and per server), drops everything else; per-server choices merge', async () => {
  const h = await openHistory({ env: { VOICEMOOD_DATA_DIR: tempDir() } });
  await h.setUserSettings('discord', 'd', { lang: 'zh', privacy: 'in', privacyByGuild: { g1: 'in' } });
  await h.setUserSettings('discord', 'd', { privacyByGuild: { g2: 'out' } });
  assert.deepEqual(await h.getUserSettings('discord', 'd'), { lang: 'zh', privacy: 'in', privacyByGuild: { g1: 'in', g2: 'out' } });
  assert.equal(h.forgetEpoch('discord', 'd'), 0);
  const forgetting = h.forgetUser('discord', 'd');
  assert.equal(h.forgetEpoch('discord', 'd'), 1, 'bumped the moment forgetUser is called');
  assert.equal(h.forgetEpoch('telegram', 'd'), 0, 'per platform');
  assert.deepEqual(await forgetting, { entries: 0, chatEntries: 0, settings: 1, alertSubscriptions: 0, keptOptOut: true });
  assert.deepEqual(await h.getUserSettings('discord', 'd'), { privacyByGuild: { g2: 'out' } });
  // Nothing to keep: the record goes entirely.
  await h.setUserSettings('discord', 'e', { lang: 'en', privacyByGuild: { g1: 'in' } });
  assert.deepEqual(await h.forgetUser('discord', 'e'), { entries: 0, chatEntries: 0, settings: 1, alertSubscriptions: 0 });
  assert.deepEqual(await h.getUserSettings('discord', 'e'), {});
  await h.close();
});

test('exportUser returns what forgetUser would delete: settings, alert subscriptions, every entry', async () => {
  const h = await openHistory({ env: { VOICEMOOD_DATA_DIR: tempDir() } });
  await h.append(entry({ userId: 'a', chatId: 'x', userName: 'Ann' }));
  await h.append(entry({ userId: 'a', chatId: 'y' }));
  await h.append(entry({ userId: 'b', chatId: 'x' }));
  await h.setUserSettings('telegram', 'a', { lang: 'zh', privacy: 'out' });
  await h.setChatSettings('telegram', 'x', { alertAdmins: ['a'] });
  const data = await h.exportUser('telegram', 'a');
  assert.equal(data.platform, 'telegram');
  assert.equal(data.userId, 'a');
  assert.deepEqual(data.settings, { lang: 'zh', privacy: 'out' });
  assert.deepEqual(data.alertSubscriptions, ['x']);
  assert.deepEqual(
    data.entries.map((e) => [e.userId, e.chatId]),
    [
      ['a', 'x'],
      ['a', 'y'],
    ],
  );
  assert.deepEqual(await h.exportUser('discord', 'a'), { platform: 'discord', userId: 'a', settings: {}, alertSubscriptions: [], entries: [] });
  await h.close();
});

test('200 concurrent appends for one user (and one chat) lose nothing', async () => {
  const h = await openHistory({ env: { VOICEMOOD_DATA_DIR: tempDir() } });
  const ids = await Promise.all(
    Array.from({ length: 200 }, (_, i) => h.append(entry({ userId: 'busy', chatId: i % 2 ? 'c1' : 'c2', at: Date.now() + i })).then((e) => e.id)),
  );
  assert.equal(new Set(ids).size, 200);
  const mine = await h.listUser('telegram', 'busy');
  assert.equal(mine.length, 200);
  assert.deepEqual(new Set(mine.map((e) => e.id)), new Set(ids));
  assert.equal((await h.listChat('telegram', 'c1')).length + (await h.listChat('telegram', 'c2')).length, 200);
  await h.close();
});

test('list options and retention: old entries are neither shown nor kept', async () => {
  let now = Date.parse('2026-06-01T12:00:00Z');
  const h = await openHistory({ env: { VOICEMOOD_DATA_DIR: tempDir() }, retentionDays: 30, now: () => now });
  await h.append(entry({ userId: 'r', at: now - 40 * DAY }));
  await h.append(entry({ userId: 'r', at: now - 2 * DAY }));
  await h.append(entry({ userId: 'r', at: now - 3600_000 }));
  await h.append(entry({ userId: 'r', at: now - 60_000 }));
  assert.equal((await h.listUser('telegram', 'r')).length, 3, 'the 40-day-old entry is past retention');
  assert.equal((await h.listUser('telegram', 'r', { since: now - DAY })).length, 2);
  assert.equal((await h.listUser('telegram', 'r', { until: now - DAY })).length, 1);
  const last = await h.listUser('telegram', 'r', { limit: 1 });
  assert.equal(last.length, 1);
  assert.equal(last[0].at, now - 60_000);
  now += 29 * DAY;
  // The 40-day-old bucket already went when the next entry was appended; prune takes the 2-day-old one.
  assert.equal(await h.prune(), 1, 'prune removes what is now older than 30 days');
  assert.equal((await h.listUser('telegram', 'r', { since: 0 })).length, 2);
  assert.equal((await h.listChat('telegram', 'c1')).length, 2);
  now += 10 * DAY;
  assert.equal(await h.prune(), 2);
  assert.deepEqual(await h.listUser('telegram', 'r', { since: 0 }), []);
  await h.close();
});

test('bad entries and unknown backends are refused with a typed error', async () => {
  const h = await openHistory({ env: { VOICEMOOD_DATA_DIR: tempDir() } });
  await assert.rejects(h.append({ ...entry(), userId: '' }), (e) => isVoicemoodError(e, 'bad_input'));
  await assert.rejects(h.append({ ...entry(), scores: { ...entry().scores, sad: Number.NaN } }), (e) => isVoicemoodError(e, 'bad_input'));
  // Unknown fields (e.g. audio) are never stored.
  const stored = await h.append({ ...entry({ userId: 'z' }), audio: new Uint8Array(10) } as never);
  assert.equal('audio' in stored, false);
  assert.equal('audio' in (await h.listUser('telegram', 'z'))[0], false);
  await h.close();
  await assert.rejects(h.append(entry()), (e) => isVoicemoodError(e, 'internal'));
  await assert.rejects(openHistory({ url: 'mongodb://x' }), (e) => isVoicemoodError(e, 'bad_input'));
});

test('forget racing with appends: user and chat views stay consistent, later notes survive', async () => {
  const h = await openHistory({ env: { VOICEMOOD_DATA_DIR: tempDir() }, pruneEveryMs: 0 });
  const before = Array.from({ length: 40 }, (_, i) => h.append(entry({ userId: 'r', chatId: `c${i % 3}`, at: Date.now() + i })));
  const forget = h.forgetUser('telegram', 'r');
  const after = Array.from({ length: 40 }, (_, i) => h.append(entry({ userId: 'r', chatId: `c${i % 4}`, at: Date.now() + 100 + i })));
  const [report] = await Promise.all([forget, ...before, ...after]);
  const mine = (await h.listUser('telegram', 'r')).map((e) => e.id).sort();
  const inChats = (await Promise.all(['c0', 'c1', 'c2', 'c3'].map((c) => h.listChat('telegram', c))))
    .flat()
    .map((e) => e.id)
    .sort();
  assert.deepEqual(mine, inChats, 'every surviving entry is in both views, nothing else');
  assert.equal((report as { entries: number }).entries + mine.length, 80, 'each entry was either forgotten or kept');
  await h.close();
});
