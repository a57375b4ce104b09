import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  handleAlerts,
  handleForget,
  handleHelp,
  handleLang,
  handleMe,
  handleMood,
  handlePrivacy,
  handleSettings,
  handleStart,
  handleVoice,
} from '../../src/commands/index.ts';
import type { AlertReply, ErrorReply, Reply, TextReply } from '../../src/commands/types.ts';
import { harness, scoresFor, wavBytes } from './helpers.ts';

const voice = (trigger: 'auto' | 'request' = 'auto') => ({ bytes: wavBytes(), filename: 'note.wav', trigger });
const only = <K extends Reply['kind']>(replies: Reply[], kind: K) => replies.filter((r) => r.kind === kind) as Extract<Reply, { kind: K }>[];
const textOf = (replies: Reply[]) => replies.map((r) => ('text' in r ? r.text : 'body' in r ? `${r.title}\n${r.body}` : '')).join('\n');

test("a voice note gets its card (the engine's scores), a timeline, one privacy notice, and is stored", async () => {
  const h = await harness();
  h.engine.next = 'angry';
  const replies = await handleVoice(h.ctx(), h.services, voice());
  const [card] = only(replies, 'card');
  assert.ok(card);
  assert.deepEqual(
    card.card.bars.map((b) => b.score),
    Object.values(scoresFor('angry')),
  );
  assert.equal(card.card.emotion, 'angry');
  assert.equal(card.title, '😠 Angry · 60% confidence · 1.5 s');
  assert.equal(card.body.split('\n').length, 9);
  assert.equal(card.timeline!.windows.length, 3);
  assert.ok(card.timeline!.windows.every((w) => w.emotion === 'angry'));
  // The timeline needs the per-frame scores only: the engine is asked not to send frame embeddings.
  assert.deepEqual(
    h.engine.options.map((o) => [o.frames, o.frameEmbeddings]),
    [[true, false]],
  );
  assert.match(textOf(only(replies, 'text')), /Privacy: .* kept for 90 days/);
  const stored = await h.services.history.listUser('telegram', 'u1');
  assert.equal(stored.length, 1);
  assert.equal(stored[0].id, card.entryId);
  assert.equal(stored[0].emotion, 'angry');
  assert.equal(stored[0].durationS, 1.5);
  // Second note: no second privacy notice.
  const again = await handleVoice(h.ctx(), h.services, voice());
  assert.deepEqual(
    again.map((r) => r.kind),
    ['card'],
  );
  await h.close();
});

test("/me shows only the caller's notes, on the caller's platform; /mood only this chat", async () => {
  const h = await harness();
  h.engine.next = 'happy';
  await handleVoice(h.ctx({ userId: 'ann', chatId: 'X', kind: 'group' }), h.services, voice());
  h.engine.next = 'sad';
  await handleVoice(h.ctx({ userId: 'bob', chatId: 'X', kind: 'group' }), h.services, voice());
  h.engine.next = 'angry';
  await handleVoice(h.ctx({ userId: 'cat', chatId: 'Y', kind: 'group' }), h.services, voice());
  h.engine.next = 'fearful';
  await handleVoice(h.ctx({ platform: 'discord', userId: 'ann', chatId: 'X', guildId: 'G', kind: 'group' }), h.services, voice());

  const me = textOf(await handleMe(h.ctx({ userId: 'ann', chatId: 'X', kind: 'group' }), h.services));
  assert.match(me, /Your last 1 voice note/);
  assert.match(me, /😊 Happy/);
  assert.doesNotMatch(me, /Sad|Angry|Fearful/);
  const bobMe = textOf(await handleMe(h.ctx({ userId: 'bob' }), h.services));
  assert.match(bobMe, /😢 Sad/);
  assert.doesNotMatch(bobMe, /Happy/);
  assert.match(textOf(await handleMe(h.ctx({ userId: 'dan' }), h.services)), /no voice notes of yours/);

  const [moodX] = only(await handleMood(h.ctx({ userId: 'ann', chatId: 'X', kind: 'group' }), h.services), 'summary');
  assert.deepEqual(moodX.summary.members.map((m) => m.name).sort(), ['ANN', 'BOB']);
  assert.equal(moodX.summary.count, 2);
  assert.match(moodX.title, /last 24 h/);
  assert.ok(moodX.png && moodX.png.length > 1000);
  const [moodY] = only(await handleMood(h.ctx({ userId: 'cat', chatId: 'Y', kind: 'group' }), h.services), 'summary');
  assert.deepEqual(
    moodY.summary.members.map((m) => m.name),
    ['CAT'],
  );
  const [moodDiscord] = only(await handleMood(h.ctx({ platform: 'discord', userId: 'ann', chatId: 'X', guildId: 'G', kind: 'group' }), h.services), 'summary');
  assert.deepEqual(
    moodDiscord.summary.members.map((m) => m.dominant),
    ['fearful'],
  );
  // A day later the window is empty.
  h.clock.now += 25 * 3_600_000;
  const [later] = only(await handleMood(h.ctx({ userId: 'ann', chatId: 'X', kind: 'group' }), h.services), 'summary');
  assert.equal(later.summary.count, 0);
  assert.equal(later.png, undefined);
  await h.close();
});

test('/forget deletes everything about the caller and says so with counts', async () => {
  const h = await harness();
  for (let i = 0; i < 3; i++) await handleVoice(h.ctx({ userId: 'ann', chatId: 'X', kind: 'group' }), h.services, voice());
  await handleVoice(h.ctx({ userId: 'bob', chatId: 'X', kind: 'group' }), h.services, voice());
  await handleLang(h.ctx({ userId: 'ann' }), h.services, 'en');
  const out = textOf(await handleForget(h.ctx({ userId: 'ann' }), h.services));
  assert.equal(out, 'Done: I deleted everything I stored about you — 3 analysed voice notes, 3 copies in chat summaries and 1 settings record.');
  assert.match(textOf(await handleMe(h.ctx({ userId: 'ann' }), h.services)), /no voice notes of yours/);
  const [mood] = only(await handleMood(h.ctx({ userId: 'bob', chatId: 'X', kind: 'group' }), h.services), 'summary');
  assert.deepEqual(
    mood.summary.members.map((m) => m.userId),
    ['bob'],
  );
  assert.equal(textOf(await handleForget(h.ctx({ userId: 'ann' }), h.services)), 'I had nothing stored about you. Nothing to delete.');
  await h.close();
});

test('/lang zh switches every later reply to Chinese; /help and /start in both languages', async () => {
  const h = await harness();
  assert.equal(textOf(await handleLang(h.ctx(), h.services, 'fr')), 'Usage: /lang en or /lang zh');
  assert.equal(textOf(await handleLang(h.ctx(), h.services, 'zh')), '语言已设为中文。');
  const replies = await handleVoice(h.ctx(), h.services, voice());
  assert.match(only(replies, 'card')[0].title, /^😐 中立 · 60% 置信度/);
  assert.match(textOf(await handleHelp(h.ctx(), h.services)), /^我会听语音/);
  assert.match(textOf(await handleHelp(h.ctx({ userId: 'other' }), h.services)), /^I listen to voice notes/);
  assert.match(textOf(await handleHelp(h.ctx({ userId: 'zh-user', lang: 'zh' }), h.services)), /^我会听语音/);
  assert.match(textOf(await handleStart(h.ctx({ userId: 'new' }), h.services)), /^Hi!.*\n?Privacy/s);
  await h.close();
});

test('/privacy out: voice is neither analysed nor stored; in: back on', async () => {
  const h = await harness();
  assert.match(textOf(await handlePrivacy(h.ctx(), h.services)), /on \(default\)/);
  assert.match(textOf(await handlePrivacy(h.ctx(), h.services, 'out')), /will not analyse your voice/);
  assert.deepEqual(await handleVoice(h.ctx(), h.services, voice('auto')), []);
  assert.match(textOf(await handleVoice(h.ctx(), h.services, voice('request'))), /You opted out/);
  assert.equal(h.engine.calls, 0);
  assert.deepEqual(await h.services.history.listUser('telegram', 'u1'), []);
  await handlePrivacy(h.ctx(), h.services, 'in');
  assert.equal(only(await handleVoice(h.ctx(), h.services, voice()), 'card').length, 1);
  await h.close();
});

test('/settings: refused to non-admins with a sentence; admins see, change and are validated', async () => {
  const h = await harness();
  const group = { chatId: 'G1', kind: 'group' as const };
  const refused = await handleSettings(h.ctx({ ...group, userId: 'pleb' }), h.services, ['reply', 'on_demand']);
  assert.deepEqual(
    refused.map((r) => [r.kind, (r as ErrorReply).code]),
    [['error', 'forbidden']],
  );
  assert.equal((refused[0] as ErrorReply).text, 'Only admins of this chat can change its settings.');
  const refusedZh = await handleSettings(h.ctx({ ...group, userId: 'pleb', lang: 'zh' }), h.services, []);
  assert.equal((refusedZh[0] as ErrorReply).text, '只有本群管理员可以修改设置。');
  assert.match(textOf(await handleSettings(h.ctx({ userId: 'me' }), h.services, [])), /Settings are for groups/);

  const admin = h.ctx({ ...group, userId: 'boss', admin: true });
  const shown = (await handleSettings(admin, h.services, []))[0] as TextReply;
  assert.equal(shown.monospace, true);
  assert.match(shown.text, /reply +auto/);
  assert.match(shown.text, /repeat_count +3/);
  assert.equal(textOf(await handleSettings(admin, h.services, ['reply', 'on_demand'])), 'Saved: reply = on_demand.');
  assert.equal(textOf(await handleSettings(admin, h.services, ['repeat_count', '2'])), 'Saved: repeat_count = 2.');
  assert.equal(textOf(await handleSettings(admin, h.services, ['consent', 'opt_out'])), 'Saved: consent = opt_out.');
  const bad = await handleSettings(admin, h.services, ['heated_share', '7']);
  assert.equal((bad[0] as ErrorReply).code, 'bad_input');
  const s = await h.services.settings.getChatSettings('telegram', 'G1');
  assert.equal(s.replyMode, 'on_demand');
  assert.equal(s.moderation.repeatCount, 2);
  assert.equal(s.consentMode, 'opt_out');
  assert.equal(s.moderation.heatedShare, undefined);

  // On demand: voice notes are not even analysed unless someone asks.
  assert.deepEqual(await handleVoice(h.ctx({ ...group, userId: 'ann' }), h.services, voice('auto')), []);
  assert.equal(h.engine.calls, 0);
  assert.equal(only(await handleVoice(h.ctx({ ...group, userId: 'ann' }), h.services, voice('request')), 'card').length, 1);

  // Discord: settings are per guild, whatever the channel.
  await handleSettings(h.ctx({ platform: 'discord', chatId: 'chan-1', guildId: 'guild', kind: 'group', admin: true }), h.services, [
    'logchannel',
    '<#123456789>',
  ]);
  assert.equal((await h.services.settings.getChatSettings('discord', 'guild')).logChannelId, '123456789');
  await h.close();
});

test('moderation: an admin who opted in is alerted when one member sends 3 angry notes, once per cooldown', async () => {
  const h = await harness();
  const group = { chatId: 'G', kind: 'group' as const };
  assert.match(textOf(await handleAlerts(h.ctx({ ...group, userId: 'pleb' }), h.services, 'on')), /Only admins/);
  // An anonymous admin (Telegram's GroupAnonymousBot stand-in) cannot be written to: told so, not subscribed.
  assert.match(textOf(await handleAlerts(h.ctx({ ...group, userId: '1087968824', admin: true, anonymous: true }), h.services, 'on')), /posting anonymously/);
  assert.deepEqual((await h.services.settings.getChatSettings('telegram', 'G')).alertAdmins, []);
  assert.match(textOf(await handleAlerts(h.ctx({ ...group, userId: 'boss', admin: true }), h.services, 'on')), /moderation alerts of this chat in private/);
  h.engine.next = 'angry';
  const kinds: string[][] = [];
  let alert: AlertReply | undefined;
  for (let i = 0; i < 4; i++) {
    h.clock.now += 60_000;
    const r = await handleVoice(h.ctx({ ...group, userId: 'hot', name: 'Hot Head' }), h.services, voice());
    kinds.push(r.map((x) => x.kind));
    alert ??= only(r, 'alert')[0] as AlertReply | undefined;
  }
  assert.deepEqual(kinds, [['card', 'text'], ['card'], ['card', 'alert'], ['card']]);
  assert.deepEqual(alert!.notifyUserIds, ['boss']);
  assert.equal(alert!.title, 'Heads-up: Hot Head sounds upset repeatedly');
  assert.match(alert!.text, /Chat: Test chat\n3 items in the last 10 min, anger\+disgust 65%/);
  assert.equal(alert!.signal.members[0].userId, 'hot');
  // Someone else's angry notes do not count for "hot", and calm notes never alert.
  h.engine.next = 'happy';
  for (let i = 0; i < 3; i++) assert.equal(only(await handleVoice(h.ctx({ ...group, userId: 'calm' }), h.services, voice()), 'alert').length, 0);
  await h.close();
});

test("rate limits per user and per chat answer politely with seconds; the engine's busy too", async () => {
  const h = await harness();
  for (let i = 0; i < 10; i++) assert.equal(only(await handleVoice(h.ctx(), h.services, voice()), 'card').length, 1);
  const limited = (await handleVoice(h.ctx(), h.services, voice()))[0] as ErrorReply;
  assert.equal(limited.code, 'rate_limited');
  assert.equal(limited.retryAfterS, 6);
  assert.equal(limited.text, 'You are sending a lot right now. Please try again in 6 s.');
  h.clock.now += 6_000;
  assert.equal(only(await handleVoice(h.ctx(), h.services, voice()), 'card').length, 1);
  // 60 per minute per chat: many members of one group.
  let chatLimited: ErrorReply | undefined;
  for (let i = 0; i < 61 && !chatLimited; i++) {
    const r = await handleVoice(h.ctx({ userId: `m${i}`, chatId: 'busy-group', kind: 'group' }), h.services, voice());
    if (r[0].kind === 'error') chatLimited = r[0];
  }
  assert.match(chatLimited!.text, /This chat is sending a lot right now\. Please try again in \d+ s\./);
  h.engine.busy = true;
  const busy = (await handleVoice(h.ctx({ userId: 'x', lang: 'zh' }), h.services, voice()))[0] as ErrorReply;
  assert.deepEqual([busy.code, busy.retryAfterS, busy.text], ['busy', 7, '我正在处理其他语音，请 7 秒后再试。']);
  await h.close();
});

test('broken audio gets its error sentence (en: the specific one, zh: translated) and nothing is stored', async () => {
  const h = await harness();
  const en = (
    await handleVoice(h.ctx(), h.services, { bytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), filename: 'x.ogg', trigger: 'auto' })
  )[0] as ErrorReply;
  assert.equal(en.kind, 'error');
  assert.ok(['undecodable', 'too_short'].includes(en.code), en.code);
  assert.ok(en.text.length > 10);
  const silent = (await handleVoice(h.ctx({ userId: 'z', lang: 'zh' }), h.services, { bytes: wavBytes(1, 0).fill(0, 44), trigger: 'auto' }))[0] as ErrorReply;
  assert.equal(silent.code, 'silent');
  assert.equal(silent.text, '我什么也没听到——这段音频是静音。');
  assert.deepEqual(await h.services.history.listUser('telegram', 'u1'), []);
  assert.equal(h.engine.calls, 0);
  await h.close();
});

test('error sentences: user-caused ones keep their precise English text, operator-side ones never show internals', async () => {
  const { errorReply } = await import('../../src/commands/common.ts');
  const { VoicemoodError } = await import('../../src/domain/errors.ts');
  const tooShort = new VoicemoodError('too_short', 'That clip is 0.2 s long; I need at least 0.5 s.');
  assert.equal(errorReply(tooShort, 'en').text, 'That clip is 0.2 s long; I need at least 0.5 s.');
  assert.equal(errorReply(tooShort, 'zh').text, '太短了，无法判断——请至少发送半秒的语音。');
  const missing = new VoicemoodError('model_missing', 'No model at /srv/secret/models/x.onnx.');
  assert.equal(errorReply(missing, 'en').text, 'The emotion model is not available right now.');
  assert.equal(errorReply(new Error('ECONNREFUSED 10.0.0.5:6379'), 'en').text, 'Something went wrong on my side. Please try again later.');
  assert.deepEqual(errorReply(new VoicemoodError('busy', 'x', { retryAfterS: 2.2 }), 'en'), {
    kind: 'error',
    code: 'busy',
    text: 'I am busy with other voice right now. Please try again in 3 s.',
    retryAfterS: 3,
  });
});

test("a voice that is not the sender's own (a forwarded note) gets its card but is neither stored nor counted for moderation", async () => {
  const h = await harness();
  h.engine.next = 'angry';
  for (let i = 0; i < 4; i++) {
    const replies = await handleVoice(h.ctx({ userId: 'fwd', chatId: 'G1', kind: 'group' }), h.services, { ...voice(), ownVoice: false });
    const [card] = only(replies, 'card');
    assert.equal(card.card.emotion, 'angry');
    assert.equal(card.entryId, undefined);
    assert.equal(only(replies, 'alert').length, 0);
  }
  assert.equal((await h.services.history.listUser('telegram', 'fwd')).length, 0);
  // The sender's own notes are stored as usual.
  await handleVoice(h.ctx({ userId: 'fwd', chatId: 'G1', kind: 'group' }), h.services, voice());
  assert.equal((await h.services.history.listUser('telegram', 'fwd')).length, 1);
  await h.close();
});
