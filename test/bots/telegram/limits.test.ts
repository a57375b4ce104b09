/**
 * Issue 7 on Telegram, through the real bot process and the fake Bot API server: a note refused by
 * the per-user rate limit is never fetched (no getFile, no download), and a download that never
 * finishes ends, at VOICEMOOD_REQUEST_TIMEOUT_MS, in a polite reply instead of a hanging handler
 * (SIGTERM, which waits for the analyses in flight, then exits promptly with 0).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileMessage, messageUpdate, privateChat, user } from '../../fakes/telegram/updates.ts';
import { fixture, makeWorkspace, plain, replyTo, startFakeAndBot, TOKEN, type Workspace } from './harness.ts';

let ws: Workspace;

before(async () => {
  ws = await makeWorkspace();
});
after(() => ws?.cleanup());

test('rate limit: refused notes are answered politely and never downloaded', async (t) => {
  const { tg, bot } = await startFakeAndBot(ws, { VOICEMOOD_RATE_USER_PER_MIN: '2' });
  t.after(async () => {
    await bot.stop('SIGKILL');
    await tg.close();
  });
  tg.addFile('hello', { bytes: fixture('voice-hello.ogg') });
  const spammer = user(201, 'Spammer');
  const chat = privateChat(spammer);
  const notes = Array.from({ length: 5 }, () => fileMessage(tg, chat, spammer, 'hello'));
  for (const note of notes) tg.pushUpdate(messageUpdate(note));
  const answers = await Promise.all(notes.map((n) => tg.waitForCall(replyTo(n.message_id), 60_000, `the reply to note ${n.message_id}`)));
  const refusals = answers.filter((c) => /You are sending a lot right now\. Please try again in \d+ s\./.test(plain(String(c.params.text))));
  assert.equal(refusals.length, 3, answers.map((c) => plain(String(c.params.text))).join('\n'));
  assert.equal(answers.length - refusals.length, 2, 'two cards');
  assert.equal(tg.callsOf('getFile').length, 2, 'getFile only for the admitted notes');
  assert.equal(tg.downloads.length, 2, 'downloads only for the admitted notes');
  assert.equal(await bot.stop('SIGTERM'), 0);
  assert.ok(!bot.output().includes(TOKEN.split(':')[1]), 'token leaked');
});

test('a stuck download ends in a polite "took too long" reply; meanwhile a full queue says "busy" without downloading; shutdown is not held up', async (t) => {
  // A queue of one: the stuck note fills it.
  const { tg, bot } = await startFakeAndBot(ws, { VOICEMOOD_REQUEST_TIMEOUT_MS: '3000', VOICEMOOD_ENGINE_QUEUE: '1' });
  t.after(async () => {
    await bot.stop('SIGKILL');
    await tg.close();
  });
  tg.addFile('stuck', { bytes: fixture('voice-hello.ogg'), stall: true });
  const alice = user(202, 'Alice');
  const note = fileMessage(tg, privateChat(alice), alice, 'stuck');
  tg.pushUpdate(messageUpdate(note));
  tg.addFile('hello', { bytes: fixture('voice-hello.ogg') });
  await tg.waitForCall((c) => c.method === 'getFile' && c.params.file_id === 'stuck', 30_000, 'getFile of the stuck note');
  const bob = user(203, 'Bob');
  const second = fileMessage(tg, privateChat(bob), bob, 'hello');
  tg.pushUpdate(messageUpdate(second));
  const busy = await tg.waitForCall(replyTo(second.message_id), 60_000, 'the reply to the second note');
  assert.match(plain(String(busy.params.text)), /I am busy with other voice right now\. Please try again in 10 s\./);
  assert.equal(tg.callsOf('getFile').filter((c) => c.params.file_id === 'hello').length, 0, 'the refused note was not fetched');
  // Counted for /metrics, on the web app's server (a port of its own in these tests).
  const started = /web: started \((http:\/\/127\.0\.0\.1:\d+)\)/;
  for (const until = Date.now() + 30_000; !started.test(bot.output()) && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
  const web = started.exec(bot.output());
  assert.ok(web, bot.output());
  const metrics = await (await fetch(`${web[1]}/metrics`)).text();
  assert.match(metrics, /^voicemood_busy_answers_total\{platform="telegram"\} 1$/m);
  assert.match(metrics, /^voicemood_analyses_total\{platform="telegram",outcome="busy"\} 1$/m);
  const reply = await tg.waitForCall(replyTo(note.message_id), 60_000, 'the reply to the stuck note');
  assert.match(plain(String(reply.params.text)), /took longer than 3 s to process, so I stopped\. Please try again in a moment\./);
  assert.deepEqual(tg.downloads, ['voice/stuck.oga'], 'the download had started');
  // A handler still waiting for the download would keep SIGTERM waiting for it.
  assert.equal(await bot.stop('SIGTERM'), 0);
  assert.doesNotMatch(bot.output(), /"level":50/, 'no error-level log line: a timeout is the user-facing kind');
});
