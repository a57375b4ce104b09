/**
 * Operations on the real `npm start` process with the fake Bot API: with the web app off, PORT
 * still serves /healthz and /metrics (on loopback), and /metrics counts the Telegram voice notes by
 * outcome (a card, a rate-limited refusal) and the engine's batches.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileMessage, messageUpdate, privateChat, user } from '../../fakes/telegram/updates.ts';
import { freePort } from '../../helpers/net.ts';
import { fixture, makeWorkspace, plain, replyTo, startFakeAndBot, type Workspace } from './harness.ts';

let ws: Workspace;

before(async () => {
  ws = await makeWorkspace();
});
after(() => ws?.cleanup());

/** The value of one series in Prometheus text, or undefined when it is absent. */
function series(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    if (line.slice(0, at) === name) return Number(line.slice(at + 1));
  }
  return undefined;
}

test('VOICEMOOD_WEB=off: PORT serves /healthz and /metrics, which count a card and a rate-limited note on Telegram', async (t) => {
  const port = await freePort();
  const { tg, bot } = await startFakeAndBot(ws, { VOICEMOOD_WEB: 'off', PORT: String(port), VOICEMOOD_RATE_USER_PER_MIN: '1' });
  t.after(async () => {
    await bot.stop('SIGKILL');
    await tg.close();
  });
  const base = `http://127.0.0.1:${port}`;
  // The server listens once the bots are up.
  const deadline = Date.now() + 30_000;
  while (!/serving \/healthz and \/metrics on http:\/\/127\.0\.0\.1:\d+/.test(bot.output())) {
    assert.ok(Date.now() < deadline, bot.output());
    await new Promise((r) => setTimeout(r, 50));
  }
  const health = (await (await fetch(`${base}/healthz`)).json()) as { ok: boolean; model: string; bots: string[]; web: boolean };
  assert.equal(health.ok, true);
  assert.match(health.model, /tiny/);
  assert.deepEqual(health.bots, ['Telegram']);
  assert.equal(health.web, false);
  assert.equal((await fetch(`${base}/api/v1/openapi.json`)).status, 404, 'no API on the operations server');

  tg.addFile('hello', { bytes: fixture('voice-hello.ogg') });
  const alice = user(301, 'Alice');
  const chat = privateChat(alice);
  const first = fileMessage(tg, chat, alice, 'hello');
  tg.pushUpdate(messageUpdate(first));
  const card = await tg.waitForCall(replyTo(first.message_id), 60_000, 'the card');
  assert.doesNotMatch(plain(String(card.params.text)), /try again/);
  const second = fileMessage(tg, chat, alice, 'hello');
  tg.pushUpdate(messageUpdate(second));
  const refusal = await tg.waitForCall(replyTo(second.message_id), 60_000, 'the refusal');
  assert.match(plain(String(refusal.params.text)), /You are sending a lot right now/);

  const res = await fetch(`${base}/metrics`);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const text = await res.text();
  assert.equal(series(text, 'voicemood_analyses_total{platform="telegram",outcome="ok"}'), 1, text);
  assert.equal(series(text, 'voicemood_analyses_total{platform="telegram",outcome="rate_limited"}'), 1);
  assert.equal(series(text, 'voicemood_rate_limited_total{platform="telegram"}'), 1);
  assert.equal(series(text, 'voicemood_busy_answers_total{platform="telegram"}'), undefined, 'no busy answer');
  assert.equal(series(text, 'voicemood_analysis_seconds_count{platform="telegram"}'), 1);
  assert.ok((series(text, 'voicemood_inference_seconds_count') ?? 0) >= 1, 'the engine ran a batch');
  assert.equal(series(text, 'voicemood_queue_depth'), 0);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  assert.match(text, /^voicemood_event_loop_lag_seconds\{stat="p99"\} /m);
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.equal(await bot.stop('SIGTERM'), 0);
  assert.match(bot.output(), /\/healthz and \/metrics: stopped/);
});

test('PORT taken with a bot running: a clear warning, and the bot still answers', async (t) => {
  const { createServer } = await import('node:net');
  const taken = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => taken.once('listening', r));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const { tg, bot } = await startFakeAndBot(ws, { VOICEMOOD_WEB: 'off', PORT: String(port) });
  t.after(async () => {
    await bot.stop('SIGKILL');
    await tg.close();
  });
  const deadline = Date.now() + 30_000;
  while (!/warning: \/healthz and \/metrics are not served/.test(bot.output())) {
    assert.ok(Date.now() < deadline, bot.output());
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(bot.output(), new RegExp(`port ${port} is already in use`));
  tg.addFile('hello', { bytes: fixture('voice-hello.ogg') });
  const bob = user(302, 'Bob');
  const note = fileMessage(tg, privateChat(bob), bob, 'hello');
  tg.pushUpdate(messageUpdate(note));
  await tg.waitForCall(replyTo(note.message_id), 60_000, 'the card');
  assert.equal(await bot.stop('SIGTERM'), 0);
});
