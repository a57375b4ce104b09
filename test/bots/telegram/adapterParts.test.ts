/** The small pure parts of the Telegram adapter, and the download against the fake Bot API server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api } from 'grammy';
import type { ReactionTypeEmoji } from 'grammy/types';
import { EMOTIONS } from '../../../src/domain/emotions.ts';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { REACTION_FOR } from '../../../src/bots/telegram/reactions.ts';
import { mediaOf } from '../../../src/bots/telegram/media.ts';
import { downloadTelegramFile, TELEGRAM_GET_FILE_LIMIT } from '../../../src/bots/telegram/download.ts';
import { COMMAND_MENU } from '../../../src/bots/telegram/commandMenu.ts';
import { escapeHtml } from '../../../src/render/text.ts';
import { AnalysedNotes } from '../../../src/bots/telegram/analysedNotes.ts';
import type { CardReply } from '../../../src/commands/types.ts';
import { langFromCode } from '../../../src/domain/lang.ts';
import { FakeTelegram } from '../../fakes/telegram/server.ts';

// The Bot API's list of emoji allowed in reactions (ReactionTypeEmoji), copied from the docs.
const ALLOWED = new Set<string>(
  '👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 🥱 🥴 😍 🐳 ❤‍🔥 🌚 🌭 💯 🤣 ⚡ 🍌 🏆 💔 🤨 😐 🍓 🍾 💋 🖕 😈 😴 😭 🤓 👻 👨‍💻 👀 🎃 🙈 😇 😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 🤪 🗿 🆒 💘 🙉 🦄 😘 💊 🙊 😎 👾 🤷‍♂ 🤷 🤷‍♀ 😡'.split(
    ' ',
  ),
);

test('every reaction the bot can use is one Telegram accepts; unknown gets none', () => {
  for (const e of EMOTIONS) {
    const r: ReactionTypeEmoji['emoji'] | undefined = REACTION_FOR[e];
    if (r !== undefined) assert.ok(ALLOWED.has(r), `${e} → ${r} is not an allowed reaction`);
  }
  assert.equal(REACTION_FOR.unknown, undefined);
  assert.equal(REACTION_FOR.sad, '😢');
  assert.equal(REACTION_FOR.fearful, '😨');
});

const base = { message_id: 1, date: 0, chat: { id: 1, type: 'private', first_name: 'a' } } as const;

test('mediaOf finds voice, audio, video notes and audio documents, and nothing else', () => {
  const file = { file_id: 'F', file_unique_id: 'U', file_size: 10 };
  assert.equal(mediaOf({ ...base, voice: { ...file, duration: 3 } })?.kind, 'voice');
  assert.equal(mediaOf({ ...base, audio: { ...file, duration: 3, mime_type: 'audio/mpeg' } })?.mimeType, 'audio/mpeg');
  assert.equal(mediaOf({ ...base, video_note: { ...file, duration: 3, length: 240 } })?.kind, 'video_note');
  assert.equal(mediaOf({ ...base, document: { ...file, mime_type: 'audio/ogg', file_name: 'x.bin' } })?.kind, 'document');
  assert.equal(mediaOf({ ...base, document: { ...file, mime_type: 'application/octet-stream', file_name: 'rec.m4a' } })?.kind, 'document');
  assert.equal(mediaOf({ ...base, document: { ...file, mime_type: 'application/pdf', file_name: 'a.pdf' } }), undefined);
  assert.equal(mediaOf({ ...base, text: 'hi' }), undefined);
  assert.equal(mediaOf(undefined), undefined);
});

test('command menus: same commands in en and zh, valid names and descriptions', () => {
  assert.deepEqual(
    COMMAND_MENU.zh.map((c) => c.command),
    COMMAND_MENU.en.map((c) => c.command),
  );
  for (const c of [...COMMAND_MENU.en, ...COMMAND_MENU.zh]) {
    assert.match(c.command, /^[a-z0-9_]{1,32}$/);
    assert.ok(c.description.length >= 1 && c.description.length <= 256);
  }
});

test('escapeHtml, langFromCode', () => {
  assert.equal(escapeHtml('<b>&</b>'), '&lt;b&gt;&amp;&lt;/b&gt;');
  assert.equal(langFromCode('zh-hans'), 'zh');
  assert.equal(langFromCode('de'), 'en');
  assert.equal(langFromCode(undefined), 'en');
});

test('AnalysedNotes: one entry per chat + message while its card is fresh; a failed analysis and a /forget of the author drop it', async () => {
  let now = 0;
  const notes = new AnalysedNotes({ clock: () => now, ttlMs: 1000, capacity: 2 });
  const card = { kind: 'card' } as CardReply;
  notes.remember(1, 10, 'ann', Promise.resolve(card));
  assert.equal(await notes.get(1, 10)!.card, card);
  assert.equal(notes.get(2, 10), undefined, 'per chat');
  notes.remember(1, 11, 'bob', Promise.resolve(undefined)); // refused or failed: a later request may try again
  await new Promise((r) => setImmediate(r));
  assert.equal(notes.get(1, 11), undefined);
  notes.remember(1, 12, 'ann', Promise.resolve(card));
  notes.forgetUser('ann');
  assert.equal(notes.get(1, 10), undefined);
  assert.equal(notes.get(1, 12), undefined);
  notes.remember(1, 13, 'bob', Promise.resolve(card));
  now = 1001;
  assert.equal(notes.get(1, 13), undefined, 'expired');
  for (let m = 20; m < 25; m++) notes.remember(1, m, 'cy', Promise.resolve(card));
  assert.equal(notes.size, 2, 'bounded');
});

test('downloadTelegramFile: downloads, refuses > 20 MB without calling getFile, turns a bad file id into a typed error', async (t) => {
  const token = '777:download-test-token';
  const tg = await new FakeTelegram({ token }).start();
  t.after(() => tg.close());
  const target = { api: new Api(token, { apiRoot: tg.apiRoot }), token, apiRoot: tg.apiRoot };
  tg.addFile('ok', { bytes: new Uint8Array([9, 8, 7]) });
  assert.deepEqual(new Uint8Array(await downloadTelegramFile(target, 'ok', 3)), new Uint8Array([9, 8, 7]));

  await assert.rejects(
    downloadTelegramFile(target, 'huge', TELEGRAM_GET_FILE_LIMIT + 1),
    (e: unknown) => isVoicemoodError(e, 'too_large') && /20 MB/.test(e.message),
  );
  assert.equal(tg.callsOf('getFile').length, 1, 'no getFile for a note known to be too big');

  // Size unknown in the message, but getFile says too big.
  tg.addFile('big', { bytes: new Uint8Array(1), size: TELEGRAM_GET_FILE_LIMIT + 5 });
  await assert.rejects(downloadTelegramFile(target, 'big', undefined), (e: unknown) => isVoicemoodError(e, 'too_large'));

  await assert.rejects(downloadTelegramFile(target, 'missing', 5), (e: unknown) => isVoicemoodError(e, 'download_failed') && !e.message.includes(token));
});
