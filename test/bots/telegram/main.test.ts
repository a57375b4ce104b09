/**
 * `npm start` (src/main.ts) as a real process: the web app alone when no token is set, what it
 * says when nothing can start or a token is refused, token files, and webhook mode (setWebhook,
 * the secret header, updates served, SIGINT).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, postOversized } from '../../helpers/net.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeTelegram } from '../../fakes/telegram/server.ts';
import { fileMessage, messageUpdate, privateChat, textMessage, user } from '../../fakes/telegram/updates.ts';
import { expectedFor, fixture, makeWorkspace, replyTo, spawnBot, TOKEN, type Workspace } from './harness.ts';

let ws: Workspace;
before(async () => {
  ws = await makeWorkspace();
});
after(() => ws?.cleanup());

test('no token at all: serves the web app on PORT (page, API, /healthz), and SIGTERM exits 0', async (t) => {
  const port = await freePort();
  const bot = await spawnBot({ VOICEMOOD_MODEL: ws.modelPath, VOICEMOOD_DATA_DIR: ws.dataDir, PORT: String(port) }, { waitFor: /web: started/ });
  t.after(() => bot.stop('SIGKILL'));
  const out = bot.output();
  assert.match(out, /Telegram: not started, TELEGRAM_BOT_TOKEN is not set/);
  assert.match(out, /Discord: not started, DISCORD_TOKEN is not set/);
  assert.match(out, /no bot token set: serving the web app only/);
  assert.match(out, new RegExp(`web: started \\(http://127\\.0\\.0\\.1:${port}\\)`));
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { ok: boolean; model: string };
  assert.equal(health.ok, true);
  assert.match(await (await fetch(`http://127.0.0.1:${port}/`)).text(), /<html/);
  const analysed = await fetch(`http://127.0.0.1:${port}/api/v1/analyze`, { method: 'POST', body: fixture('voice-hello.ogg') });
  assert.equal(analysed.status, 200);
  assert.equal(((await analysed.json()) as { format: string }).format, 'ogg/opus');
  assert.equal(await bot.stop('SIGTERM'), 0);
  assert.match(bot.output(), /web: stopped/);
});

test('no token and the port is taken: says so and exits 1 instead of idling', async (t) => {
  const { createServer } = await import('node:net');
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const bot = await spawnBot({ VOICEMOOD_MODEL: ws.modelPath, VOICEMOOD_DATA_DIR: ws.dataDir, PORT: String(port) });
  assert.equal(await bot.exited, 1);
  assert.match(bot.output(), new RegExp(`web: not started \\(The web server could not start: port ${port} is already in use`));
});

test('no token and VOICEMOOD_WEB=off: says why nothing started and exits non-zero', async () => {
  const bot = await spawnBot({ VOICEMOOD_MODEL: ws.modelPath, VOICEMOOD_DATA_DIR: ws.dataDir, VOICEMOOD_WEB: 'off' });
  const code = await bot.exited;
  assert.notEqual(code, 0);
  const out = bot.output();
  assert.match(out, /Telegram: not started, TELEGRAM_BOT_TOKEN is not set/);
  assert.match(out, /Discord: not started, DISCORD_TOKEN is not set/);
  assert.match(out, /web: not started, VOICEMOOD_WEB is off/);
  assert.match(out, /no bot can start/);
});

test('with a token the bot starts and the web app as well, on one engine; SIGTERM stops both', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const port = await freePort();
  const bot = await spawnBot(
    { TELEGRAM_API_ROOT: tg.apiRoot, TELEGRAM_BOT_TOKEN: TOKEN, PORT: String(port), VOICEMOOD_MODEL: ws.modelPath, VOICEMOOD_DATA_DIR: ws.dataDir },
    { waitFor: /web: started/ },
  );
  t.after(() => bot.stop('SIGKILL'));
  assert.match(bot.output(), /Telegram: started/);
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { ok: boolean };
  assert.equal(health.ok, true);
  assert.equal(await bot.stop('SIGTERM'), 0);
  assert.match(bot.output(), /web: stopped[^]*Telegram: stopped/);
});

test('a token the Bot API refuses: a clear sentence, exit 1, and the token is not printed', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const wrong = '8123456789:AAwrongWRONGwrongTOKENzzzzzzzzzzzzzzz';
  const bot = await spawnBot({ TELEGRAM_API_ROOT: tg.apiRoot, TELEGRAM_BOT_TOKEN: wrong, VOICEMOOD_MODEL: ws.modelPath, VOICEMOOD_DATA_DIR: ws.dataDir });
  assert.equal(await bot.exited, 1);
  const out = bot.output();
  assert.match(out, /Telegram: not started, Telegram refused the token/);
  assert.match(out, /no bot could start/);
  assert.ok(tg.unauthorized >= 1);
  assert.ok(!out.includes(wrong) && !out.includes(wrong.split(':')[1]), 'token leaked');
});

test('a malformed token is refused before any request', async () => {
  const bot = await spawnBot({ TELEGRAM_BOT_TOKEN: 'not a token', VOICEMOOD_MODEL: ws.modelPath, VOICEMOOD_DATA_DIR: ws.dataDir });
  assert.notEqual(await bot.exited, 0);
  assert.match(bot.output(), /Telegram: not started, TELEGRAM_BOT_TOKEN does not look like a bot token/);
});

test('webhook mode with the token from a file: setWebhook with the secret, wrong secret 401, updates served; the web app on the same port behind API keys; SIGINT exits 0', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const tokenFile = join(ws.dir, 'token.txt');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/telegram/hook`;
  const secret = 'hook-secret_123';
  const bot = await spawnBot(
    {
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_BOT_TOKEN_FILE: tokenFile,
      TELEGRAM_WEBHOOK_URL: url,
      TELEGRAM_WEBHOOK_SECRET: secret,
      PORT: String(port),
      VOICEMOOD_API_KEYS: 'k-one,k-two',
      VOICEMOOD_MODEL: ws.modelPath,
      VOICEMOOD_DATA_DIR: ws.dataDir,
    },
    { waitFor: /web: started/ },
  );
  t.after(() => bot.stop('SIGKILL'));
  assert.match(bot.output(), new RegExp(`Telegram: started \\(@voicemood_test_bot, webhook on port ${port}\\)`));
  // One server on PORT for both; Telegram must reach it, so it listens beyond loopback.
  assert.match(bot.output(), new RegExp(`web: started \\(http://0\\.0\\.0\\.0:${port}\\)`));
  assert.doesNotMatch(bot.output(), /open to anyone/, 'keys are required');
  const set = tg.callsOf('setWebhook');
  assert.equal(set.length, 1);
  assert.equal(set[0].params.url, url);
  assert.equal(set[0].params.secret_token, secret);
  assert.equal(tg.callsOf('getUpdates').length, 0, 'no polling in webhook mode');

  const alice = user(7, 'Alice');
  const update = { update_id: 1, message: textMessage(tg, privateChat(alice), alice, '/help') };
  const post = (headers: Record<string, string>, path = '/telegram/hook'): Promise<Response> =>
    fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(update) });
  assert.equal((await post({ 'x-telegram-bot-api-secret-token': 'wrong' })).status, 401);
  assert.equal((await post({})).status, 401);
  assert.equal((await post({ 'x-telegram-bot-api-secret-token': secret }, '/elsewhere')).status, 404);
  assert.equal(tg.callsOf('sendMessage').length, 0, 'refused requests reached no handler');
  assert.equal((await post({ 'x-telegram-bot-api-secret-token': secret })).status, 200);
  const help = await tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === alice.id);
  assert.match(String(help.params.text), /\/me/);

  // The same port serves a voice note's card, the page, the API and /healthz.
  tg.addFile('hello', { bytes: fixture('voice-hello.ogg') });
  const note = fileMessage(tg, privateChat(alice), alice, 'hello');
  const posted = await fetch(`http://127.0.0.1:${port}/telegram/hook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: JSON.stringify({ update_id: 2, message: note }),
  });
  assert.equal(posted.status, 200);
  const card = await tg.waitForCall(replyTo(note.message_id), 60_000, 'the card of the note posted to the webhook');
  assert.equal(card.params.text, (await expectedFor(ws.modelPath, fixture('voice-hello.ogg'))).cardHtml);
  const page = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/);
  assert.equal(
    (await fetch(`http://127.0.0.1:${port}/api/v1/analyze`, { method: 'POST', body: fixture('voice-hello.ogg') })).status,
    401,
    'no key, no analysis',
  );
  const analysed = await fetch(`http://127.0.0.1:${port}/api/v1/analyze`, {
    method: 'POST',
    headers: { authorization: 'Bearer k-two' },
    body: fixture('voice-hello.ogg'),
  });
  assert.equal(analysed.status, 200);
  assert.equal(((await analysed.json()) as { format: string }).format, 'ogg/opus');
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { ok: boolean };
  assert.equal(health.ok, true);
  // An update too big for Telegram is refused while it streams in; a body that is not JSON is a 4xx.
  assert.equal(
    await postOversized(port, '/telegram/hook', { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret }, 2 * 1024 * 1024),
    413,
  );
  const junk = await fetch(`http://127.0.0.1:${port}/telegram/hook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: '{not json',
  });
  assert.equal(junk.status, 400);

  assert.equal(await bot.stop('SIGINT'), 0);
  assert.match(bot.output(), /web: stopped/);
  assert.match(bot.output(), /SIGINT: stopping/);
  assert.ok(!bot.output().includes(TOKEN.split(':')[1]), 'token leaked');
});

test('webhook mode with VOICEMOOD_WEB=off: the server on PORT serves the webhook, /healthz and /metrics, no page or API', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/hook`;
  const secret = 'off-secret';
  const bot = await spawnBot(
    {
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_WEBHOOK_URL: url,
      TELEGRAM_WEBHOOK_SECRET: secret,
      PORT: String(port),
      VOICEMOOD_WEB: 'off',
      VOICEMOOD_MODEL: ws.modelPath,
      VOICEMOOD_DATA_DIR: ws.dataDir,
    },
    { waitFor: /serving the Telegram webhook/ },
  );
  t.after(() => bot.stop('SIGKILL'));
  const out = bot.output();
  assert.match(out, new RegExp(`web: not started, VOICEMOOD_WEB is off \\(port ${port} serves the Telegram webhook`));
  assert.match(out, new RegExp(`Telegram: started \\(@voicemood_test_bot, webhook on port ${port}\\)`));
  assert.doesNotMatch(out, /warning: the API/, 'no API, so no warning about it');
  assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/analyze`, { method: 'POST', body: fixture('voice-hello.ogg') })).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  assert.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /voicemood_/);
  const alice = user(11, 'Alice');
  const post = (headers: Record<string, string>, updateId: number): Promise<Response> =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ update_id: updateId, message: textMessage(tg, privateChat(alice), alice, '/help') }),
    });
  assert.equal((await post({ 'x-telegram-bot-api-secret-token': 'nope' }, 1)).status, 401);
  assert.equal((await post({ 'x-telegram-bot-api-secret-token': secret }, 2)).status, 200);
  const help = await tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === alice.id);
  assert.match(String(help.params.text), /\/me/);
  assert.equal(await bot.stop('SIGTERM'), 0);
  assert.match(bot.output(), /the Telegram webhook server: stopped/);
  assert.match(bot.output(), /Telegram: stopped/);
});

test('webhook mode without API keys: the public webhook port serves no page or API (never open to anyone by default), and says how to turn it on', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/hook`;
  const secret = 'nokeys-secret';
  const bot = await spawnBot(
    {
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_WEBHOOK_URL: url,
      TELEGRAM_WEBHOOK_SECRET: secret,
      PORT: String(port),
      VOICEMOOD_MODEL: ws.modelPath,
      VOICEMOOD_DATA_DIR: ws.dataDir,
    },
    { waitFor: /Telegram: started/ },
  );
  t.after(() => bot.stop('SIGKILL'));
  assert.match(
    bot.output(),
    new RegExp(
      `web: not started, the Telegram webhook's port is public and VOICEMOOD_API_KEYS is not set \\(set it, or VOICEMOOD_WEB_PORT for a loopback page\\) \\(port ${port} serves the Telegram webhook`,
    ),
  );
  assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/analyze`, { method: 'POST', body: fixture('voice-hello.ogg') })).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  const alice = user(12, 'Alice');
  const posted = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: JSON.stringify({ update_id: 1, message: textMessage(tg, privateChat(alice), alice, '/help') }),
  });
  assert.equal(posted.status, 200);
  await tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === alice.id);
  assert.equal(await bot.stop('SIGTERM'), 0);
});

test('webhook mode with VOICEMOOD_WEB_PORT elsewhere: the page and API on their port (loopback), the webhook and /healthz on PORT', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const port = await freePort();
  const webPort = await freePort();
  const url = `http://127.0.0.1:${port}/hook`;
  const secret = 'apart-secret';
  const bot = await spawnBot(
    {
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_WEBHOOK_URL: url,
      TELEGRAM_WEBHOOK_SECRET: secret,
      PORT: String(port),
      VOICEMOOD_WEB_PORT: String(webPort),
      VOICEMOOD_MODEL: ws.modelPath,
      VOICEMOOD_DATA_DIR: ws.dataDir,
    },
    { waitFor: /web: started/ },
  );
  t.after(() => bot.stop('SIGKILL'));
  assert.match(bot.output(), new RegExp(`web: started \\(http://127\\.0\\.0\\.1:${webPort}\\)`));
  assert.match(bot.output(), new RegExp(`webhook on port ${port}\\)`));
  assert.equal((await fetch(`http://127.0.0.1:${webPort}/`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 404, 'no page on the webhook port');
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  const alice = user(12, 'Alice');
  const posted = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: JSON.stringify({ update_id: 1, message: textMessage(tg, privateChat(alice), alice, '/help') }),
  });
  assert.equal(posted.status, 200);
  await tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === alice.id);
  assert.equal(await bot.stop('SIGTERM'), 0);
});

test('both tokens: Telegram and Discord start on the same services, and one SIGTERM stops both', async (t) => {
  const { FakeDiscord } = await import('../../fakes/discord/server.ts');
  const discordToken = 'MTAwMDAwMDAwMDAwMDAwMDAx.fake.discordTOKENforMAINtest';
  const discord = await new FakeDiscord({
    token: discordToken,
    guilds: [
      {
        id: '100000000000000001',
        name: 'Test Guild',
        ownerId: '200000000000000001',
        channels: [{ id: '300000000000000001', name: 'general', type: 0 }],
        members: [],
      },
    ],
  }).start();
  t.after(() => discord.close());
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const bot = await spawnBot(
    {
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_BOT_TOKEN: TOKEN,
      DISCORD_TOKEN: discordToken,
      DISCORD_API_BASE: discord.apiBase,
      VOICEMOOD_DISCORD_CDN_HOSTS: discord.cdnHosts,
      VOICEMOOD_MODEL: ws.modelPath,
      VOICEMOOD_DATA_DIR: ws.dataDir,
    },
    { waitFor: /Discord: started[^]*Telegram: started|Telegram: started[^]*Discord: started/ },
  );
  t.after(() => bot.stop('SIGKILL'));
  assert.match(bot.output(), /Discord: started \(voicemood, gateway connected\)/);
  assert.equal(await bot.stop('SIGTERM'), 0);
  const out = bot.output();
  assert.match(out, /Telegram: stopped/);
  assert.match(out, /Discord: stopped/);
  assert.ok(!out.includes(TOKEN.split(':')[1]) && !out.includes(discordToken), 'a token leaked');
});

test('another instance polling with the same token (409): says so and exits 1 instead of idling', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const bot = await spawnBot(
    { TELEGRAM_API_ROOT: tg.apiRoot, TELEGRAM_BOT_TOKEN: TOKEN, VOICEMOOD_MODEL: ws.modelPath, VOICEMOOD_DATA_DIR: ws.dataDir },
    { waitFor: /Telegram: started/ },
  );
  t.after(() => bot.stop('SIGKILL'));
  tg.getUpdatesError = { code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' };
  tg.pushUpdate(messageUpdate(textMessage(tg, privateChat(user(8)), user(8), 'hello'))); // ends the current long poll
  assert.equal(await bot.exited, 1);
  assert.match(bot.output(), /Telegram: stopped taking updates: another instance is polling with the same token \(409 Conflict\)/);
});

test('webhook mode without TELEGRAM_WEBHOOK_SECRET still has a secret (derived from the token, the same on every instance): forged posts get 401', async (t) => {
  const { derivedWebhookSecret } = await import('../../../src/bots/telegram/webhook.ts');
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/hook`;
  const bot = await spawnBot(
    {
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_WEBHOOK_URL: url,
      PORT: String(port),
      VOICEMOOD_MODEL: ws.modelPath,
      VOICEMOOD_DATA_DIR: ws.dataDir,
    },
    { waitFor: /Telegram: started/ },
  );
  t.after(() => bot.stop('SIGKILL'));
  const secret = String(tg.callsOf('setWebhook')[0].params.secret_token);
  assert.equal(secret, derivedWebhookSecret(TOKEN));
  assert.match(secret, /^[A-Za-z0-9_-]{1,256}$/);
  assert.notEqual(derivedWebhookSecret('1:other'), secret);
  const alice = user(9, 'Alice');
  const body = JSON.stringify({ update_id: 1, message: textMessage(tg, privateChat(alice), alice, '/forget') });
  const post = (headers: Record<string, string>): Promise<Response> =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  assert.equal((await post({})).status, 401, 'a forged update without the secret');
  assert.equal(tg.callsOf('sendMessage').length, 0);
  assert.equal((await post({ 'x-telegram-bot-api-secret-token': secret })).status, 200);
  assert.equal(await bot.stop('SIGTERM'), 0);
  assert.ok(!bot.output().includes(secret), 'the secret is redacted like the token');
});

test('a webhook URL Telegram refuses: says why, frees the port, and exits instead of waiting for updates that never come', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  tg.setWebhookError = { code: 400, description: 'Bad Request: bad webhook: HTTPS url must be provided for webhook' };
  const port = await freePort();
  const bot = await spawnBot({
    TELEGRAM_API_ROOT: tg.apiRoot,
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
    PORT: String(port),
    VOICEMOOD_MODEL: ws.modelPath,
    VOICEMOOD_DATA_DIR: ws.dataDir,
  });
  t.after(() => bot.stop('SIGKILL'));
  assert.equal(await bot.exited, 1);
  assert.match(
    bot.output(),
    /Telegram: not started, Telegram refused TELEGRAM_WEBHOOK_URL \(Bad Request: bad webhook: HTTPS url must be provided for webhook\)/,
  );
});
