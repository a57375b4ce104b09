/**
 * Privacy promises at the command level (issue 11): an opt-out survives /forget, Discord consent
 * is per server, /forget drops analyses still in flight, a reply-/mood to someone else's note
 * stores nothing about them, and /me export hands over everything stored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handleForget, handleMe, handlePrivacy, handleVoice } from '../../src/commands/index.ts';
import type { CardReply, FileReply, Reply } from '../../src/commands/types.ts';
import { mayAnalyse } from '../../src/usecases/consent.ts';
import { t } from '../../src/render/i18n.ts';
import type { SettingsStore } from '../../src/domain/history.ts';
import type { Platform } from '../../src/domain/platform.ts';
import { harness } from './helpers.ts';
import { wavBytes } from './helpers.ts';

/** Voice-channel consent (the use case's rule for source voice_channel). */
const mayAnalyseVoice = (settings: SettingsStore, guildId: string, userId: string) =>
  mayAnalyse(settings, { platform: 'discord', userId, guildId }, 'voice_channel');

const voice = (trigger: 'auto' | 'request' = 'auto') => ({ bytes: wavBytes(), filename: 'note.wav', trigger });
const textOf = (replies: Reply[]) => replies.map((r) => ('text' in r ? r.text : 'body' in r ? `${r.title}\n${r.body}` : '')).join('\n');
const cards = (replies: Reply[]) => replies.filter((r): r is CardReply => r.kind === 'card');

for (const platform of ['telegram', 'discord'] as Platform[]) {
  test(`${platform}: /privacy out then /forget — the next voice note is still not analysed, and both replies say so`, async () => {
    const h = await harness();
    const me = { platform, userId: 'p1' };
    await handleVoice(h.ctx(me), h.services, voice());
    assert.match(textOf(await handlePrivacy(h.ctx(me), h.services, 'out')), /keeps only this opt-out/);
    const forgot = textOf(await handleForget(h.ctx(me), h.services));
    assert.match(forgot, /deleted everything .* 1 analysed voice note/);
    assert.match(forgot, /kept only the fact that you opted out/);
    const calls = h.engine.calls;
    assert.deepEqual(await handleVoice(h.ctx(me), h.services, voice('auto')), []);
    assert.match(textOf(await handleVoice(h.ctx(me), h.services, voice('request'))), /You opted out/);
    assert.equal(h.engine.calls, calls, 'not analysed after /forget');
    assert.deepEqual(await h.services.history.listUser(platform, 'p1'), []);
    // A second /forget: nothing else stored, the opt-out still kept (and said).
    assert.equal(textOf(await handleForget(h.ctx(me), h.services)), `${t('en').forgetNothing} ${t('en').forgetKeptOptOut}`);
    // /privacy in lifts it for real.
    await handlePrivacy(h.ctx(me), h.services, 'in');
    assert.equal(cards(await handleVoice(h.ctx(me), h.services, voice())).length, 1);
    await h.close();
  });
}

test('the Chinese privacy texts say that the opt-out outlives /forget', async () => {
  const h = await harness();
  const zh = { userId: 'z', lang: 'zh' as const };
  assert.match(textOf(await handlePrivacy(h.ctx(zh), h.services, 'out')), /只保留这项退出设置/);
  assert.match(textOf(await handleForget(h.ctx(zh), h.services)), /我只保留了你已退出分析这一点/);
  assert.match(t('zh').privacyNotice, /\/forget 之后依然有效/);
  assert.match(t('en').privacyNotice, /stays in force after \/forget/);
  await h.close();
});

test('discord: consent is per server — /privacy in on server A does not carry to server B; the reply names the server', async () => {
  const h = await harness();
  const inA = { platform: 'discord' as const, userId: 'd1', chatId: 'chanA', kind: 'group' as const, guildId: 'A', guildName: 'Alpha' };
  const inB = { platform: 'discord' as const, userId: 'd1', chatId: 'chanB', kind: 'group' as const, guildId: 'B', guildName: 'Beta' };
  const say = textOf(await handlePrivacy(h.ctx(inA), h.services, 'in'));
  assert.match(say, /in the server Alpha/);
  assert.match(say, /every other server needs its own \/privacy in/);
  assert.equal(await mayAnalyseVoice(h.services.settings, 'A', 'd1'), true);
  assert.equal(await mayAnalyseVoice(h.services.settings, 'B', 'd1'), false, 'consent on A is not consent on B');
  assert.match(textOf(await handlePrivacy(h.ctx(inB), h.services)), /in the server Beta: not chosen/);
  assert.match(textOf(await handlePrivacy(h.ctx(inA), h.services)), /in the server Alpha: on/);

  // An opt-out in server B stops everything there (voice messages too), and only there.
  assert.match(textOf(await handlePrivacy(h.ctx(inB), h.services, 'out')), /in the server Beta any more/);
  assert.deepEqual(await handleVoice(h.ctx(inB), h.services, voice()), []);
  assert.equal(cards(await handleVoice(h.ctx(inA), h.services, voice())).length, 1);
  // Server B opting everyone in (consent mode opt_out) does not override the member's "out".
  await h.services.settings.setChatSettings('discord', 'B', { consentMode: 'opt_out' });
  assert.equal(await mayAnalyseVoice(h.services.settings, 'B', 'd1'), false);

  // /privacy out in a DM is global: server A's "in" no longer counts…
  const dm = { platform: 'discord' as const, userId: 'd1' };
  await handlePrivacy(h.ctx(dm), h.services, 'out');
  assert.equal(await mayAnalyseVoice(h.services.settings, 'A', 'd1'), false);
  assert.match(textOf(await handlePrivacy(h.ctx(inA), h.services, 'in')), /opted out everywhere/);
  assert.equal(await mayAnalyseVoice(h.services.settings, 'A', 'd1'), false);
  // …until lifted in the DM, which by itself consents to no server.
  assert.match(textOf(await handlePrivacy(h.ctx(dm), h.services, 'in')), /still needs \/privacy in in that server/);
  assert.equal(await mayAnalyseVoice(h.services.settings, 'A', 'd1'), true);
  assert.equal(await mayAnalyseVoice(h.services.settings, 'C', 'd1'), false);
  // Per-server opt-outs survive /forget; consents do not.
  await handleForget(h.ctx(dm), h.services);
  assert.deepEqual(await h.services.settings.getUserSettings('discord', 'd1'), { privacyByGuild: { B: 'out' } });
  assert.equal(await mayAnalyseVoice(h.services.settings, 'A', 'd1'), false);
  await h.close();
});

test('discord migration: a global "in" stored before consent was per server counts on no server', async () => {
  const h = await harness();
  await h.services.settings.setUserSettings('discord', 'old', { privacy: 'in' });
  assert.equal(await mayAnalyseVoice(h.services.settings, 'A', 'old'), false);
  await h.services.settings.setChatSettings('discord', 'A', { consentMode: 'opt_out' });
  assert.equal(await mayAnalyseVoice(h.services.settings, 'A', 'old'), true, 'servers that listen to everyone still do');
  await h.close();
});

test('/forget while a note is being analysed: the result is dropped, nothing is appended', async (t) => {
  const h = await harness();
  const analyze = h.engine.analyze.bind(h.engine);
  let entered!: () => void;
  const inEngine = new Promise<void>((r) => (entered = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  t.after(async () => {
    // Also after a failed assertion: the engine is the real one again, nothing waits on the gate.
    h.engine.analyze = analyze;
    release();
    await h.close();
  });
  h.engine.analyze = async (samples, opts) => {
    entered();
    await gate;
    return analyze(samples, opts);
  };
  const ctx = h.ctx({ userId: 'slow', chatId: 'G', kind: 'group' });
  const pending = handleVoice(ctx, h.services, voice('request'));
  await inEngine;
  await handleForget(h.ctx({ userId: 'slow' }), h.services);
  release();
  assert.deepEqual(await pending, [], 'neither a card nor a stored entry');
  assert.deepEqual(await h.services.history.listUser('telegram', 'slow'), []);
  assert.deepEqual(await h.services.history.listChat('telegram', 'G'), []);
  // Notes after the /forget are analysed and kept as usual.
  h.engine.analyze = analyze;
  assert.equal(cards(await handleVoice(ctx, h.services, voice())).length, 1);
  assert.equal((await h.services.history.listUser('telegram', 'slow')).length, 1);
});

test("someone else's note (reply-/mood): shown, never stored or counted for the author; the requester is rate-limited; the author's opt-out applies", async () => {
  const h = await harness();
  const group = { chatId: 'G', kind: 'group' as const };
  await h.services.settings.setChatSettings('telegram', 'G', { alertAdmins: ['boss'], moderation: { repeatCount: 2 } });
  h.engine.next = 'angry';
  // The author's own angry note: stored once, no alert (one note).
  await handleVoice(h.ctx({ ...group, userId: 'author' }), h.services, voice());
  const author = { id: 'author', name: 'AUTHOR' };
  for (const who of ['r1', 'r2', 'r3']) {
    h.clock.now += 10_000;
    const replies = await handleVoice(h.ctx({ ...group, userId: who }), h.services, { ...voice('request'), voiceOf: author });
    assert.equal(cards(replies)[0].card.emotion, 'angry');
    assert.equal(cards(replies)[0].entryId, undefined);
    assert.equal(replies.filter((r) => r.kind === 'alert').length, 0, 'no alert about the author');
  }
  assert.equal((await h.services.history.listUser('telegram', 'author')).length, 1, "the author's history is unchanged");
  for (const who of ['r1', 'r2', 'r3']) assert.deepEqual(await h.services.history.listUser('telegram', who), []);
  // The requester's bucket pays (10 per minute by default), not the author's.
  let limited: Reply[] = [];
  for (let i = 0; i < 12 && limited.every((r) => r.kind !== 'error'); i++)
    limited = await handleVoice(h.ctx({ ...group, userId: 'greedy', chatId: `G${i}` }), h.services, { ...voice('request'), voiceOf: author });
  assert.match(textOf(limited), /You are sending a lot/);
  assert.equal(cards(await handleVoice(h.ctx({ ...group, userId: 'author', chatId: 'G99' }), h.services, voice())).length, 1, 'the author is not limited');
  // The author opts out: others can no longer have their notes analysed.
  await handlePrivacy(h.ctx({ userId: 'author' }), h.services, 'out');
  assert.equal(textOf(await handleVoice(h.ctx({ ...group, userId: 'r1' }), h.services, { ...voice('request'), voiceOf: author })), t('en').optedOutAuthor);
  await h.close();
});

test('/me export: a JSON file of everything stored in a private chat (or a private reply); refused in a group otherwise', async () => {
  const h = await harness();
  h.engine.next = 'happy';
  await handleVoice(h.ctx({ userId: 'ex', chatId: 'G', kind: 'group' }), h.services, voice());
  await handleVoice(h.ctx({ userId: 'ex' }), h.services, voice());
  await handlePrivacy(h.ctx({ userId: 'ex' }), h.services, 'in');
  await h.services.settings.setChatSettings('telegram', 'G', { alertAdmins: ['ex'] });
  await handleVoice(h.ctx({ userId: 'other', chatId: 'G', kind: 'group' }), h.services, voice());

  const [file] = (await handleMe(h.ctx({ userId: 'ex' }), h.services, { export: true })) as FileReply[];
  assert.equal(file.kind, 'file');
  assert.equal(file.filename, 'voicemood-telegram-ex.json');
  assert.equal(file.mimeType, 'application/json');
  const doc = JSON.parse(new TextDecoder().decode(file.bytes));
  assert.equal(doc.platform, 'telegram');
  assert.equal(doc.userId, 'ex');
  assert.equal(doc.exportedAt, '2026-06-01T12:00:00.000Z');
  assert.deepEqual(doc.settings, { privacy: 'in' });
  assert.deepEqual(doc.alertSubscriptions, ['G']);
  assert.equal(doc.entries.length, 2);
  assert.ok(doc.entries.every((e: { userId: string; emotion: string }) => e.userId === 'ex' && e.emotion === 'happy'));

  const group = h.ctx({ userId: 'ex', chatId: 'G', kind: 'group' });
  assert.equal(textOf(await handleMe(group, h.services, { export: true })), t('en').exportGroup);
  assert.equal((await handleMe(group, h.services, { export: true, privateReply: true }))[0].kind, 'file');
  // After /forget the export holds only the (absent) opt-out marker.
  await handleForget(h.ctx({ userId: 'ex' }), h.services);
  const [after] = (await handleMe(h.ctx({ userId: 'ex' }), h.services, { export: true })) as FileReply[];
  const empty = JSON.parse(new TextDecoder().decode(after.bytes));
  assert.deepEqual([empty.settings, empty.alertSubscriptions, empty.entries], [{}, [], []]);
  await h.close();
});
