/**
 * "Done when" of issue 11: 40 voice notes from 40 users at the same moment each get a card or a
 * polite "busy", never a decode error. The real bot process (`node src/main.ts`, real grammY
 * client) against the fake Bot API server, with a tiny random-weight model. The old voice-note
 * decoder (prism-media over opusscript's wrapper) failed here with "memory access out of bounds".
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { t as strings } from '../../../src/render/i18n.ts';
import type { FakeTelegram } from '../../fakes/telegram/server.ts';
import { fileMessage, messageUpdate, privateChat, user } from '../../fakes/telegram/updates.ts';
import { expectedFor, FIXTURES, makeWorkspace, plain, replyTo, startFakeAndBot, type BotProcess, type Expected, type Workspace } from './harness.ts';

const USERS = 40;
let ws: Workspace;
let tg: FakeTelegram;
let bot: BotProcess;
let minute: Expected;

before(async () => {
  ws = await makeWorkspace();
  // A one-minute voice note (the speech fixture looped, re-encoded as Telegram does: Opus 48 kHz
  // mono): long enough that 40 decodes overlap in time, as they do when a crowd sends at once.
  const note = join(ws.dir, 'minute.ogg');
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-stream_loop',
    '7',
    '-i',
    join(FIXTURES, 'voice-long.ogg'),
    '-t',
    '60',
    '-c:a',
    'libopus',
    '-b:a',
    '24k',
    '-ar',
    '48000',
    '-ac',
    '1',
    '-application',
    'voip',
    note,
  ]);
  const bytes = new Uint8Array(readFileSync(note));
  minute = await expectedFor(ws.modelPath, bytes);
  ({ tg, bot } = await startFakeAndBot(ws));
  tg.addFile('minute', { bytes });
});

after(async () => {
  await bot?.stop('SIGKILL');
  await tg?.close();
  ws?.cleanup();
});

test(`${USERS} voice notes from ${USERS} users at the same moment: each gets its card or a polite busy, no decode error`, async () => {
  const notes = Array.from({ length: USERS }, (_, i) => {
    const from = user(5000 + i, `Burst${i}`);
    return fileMessage(tg, privateChat(from), from, 'minute');
  });
  for (const note of notes) tg.pushUpdate(messageUpdate(note)); // one getUpdates answer carries them all
  const replies = await Promise.all(notes.map((n) => tg.waitForCall(replyTo(n.message_id), 180_000, `the reply to note ${n.message_id}`)));
  const busy = strings('en')
    .busy(1)
    .replace(/\d+ s\.$/, '');
  const kinds = replies.map((r) => {
    const text = String(r.params.text);
    if (text === minute.cardHtml) return 'card';
    if (plain(text).startsWith(busy)) return 'busy';
    return `other: ${plain(text)}`;
  });
  const others = kinds.filter((k) => k.startsWith('other'));
  console.log(`${USERS} notes at once: ${kinds.filter((k) => k === 'card').length} cards, ${kinds.filter((k) => k === 'busy').length} busy`);
  assert.deepEqual(others, [], 'every note gets its card or the busy sentence');
  assert.ok(kinds.includes('card'));
  assert.doesNotMatch(bot.output(), /undecodable|memory access out of bounds/);
});
