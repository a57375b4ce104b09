/**
 * startTelegramBot in webhook mode, in-process (without main.ts): on a server of its own (webhook
 * path and /healthz, closed by stop()), and joining a web server built elsewhere, which it asks to
 * listen before setWebhook; stop() then refuses further posts (503) but leaves that server open.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServices, type AppServices } from '../../../src/services.ts';
import { startTelegramBot } from '../../../src/bots/telegram/index.ts';
import { prepareWebServer } from '../../../src/web/server.ts';
import { createLogger } from '../../../src/util/log.ts';
import { FakeTelegram } from '../../fakes/telegram/server.ts';
import { privateChat, textMessage, user } from '../../fakes/telegram/updates.ts';
import { freePort } from '../../helpers/net.ts';
import { makeWorkspace, TOKEN, type Workspace } from './harness.ts';

const logger = createLogger({ level: 'silent' });
let ws: Workspace;
let services: AppServices;
let tg: FakeTelegram;
before(async () => {
  ws = await makeWorkspace();
  services = await createServices({ VOICEMOOD_MODEL: ws.modelPath, VOICEMOOD_DATA_DIR: ws.dataDir, VOICEMOOD_ENGINE_OPT_CACHE: '0' }, logger);
  tg = await new FakeTelegram({ token: TOKEN }).start();
});
after(async () => {
  await tg?.close();
  await services?.close();
  ws?.cleanup();
});

const secret = 'in-process-secret';

function postHelp(
  url: string,
  updateId: number,
  userId: number,
  headers: Record<string, string> = { 'x-telegram-bot-api-secret-token': secret },
): Promise<Response> {
  const from = user(userId, 'Alice');
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ update_id: updateId, message: textMessage(tg, privateChat(from), from, '/help') }),
  });
}

test('a server of its own: /healthz, wrong secret 401, updates served, and stop() frees the port', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/own/hook`;
  const bot = await startTelegramBot(services, { token: TOKEN, apiRoot: tg.apiRoot, webhookUrl: url, webhookSecret: secret, port, host: '127.0.0.1' });
  assert.equal(bot.mode, `webhook on port ${port}`);
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text(), 'ok');
  assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 404);
  assert.equal((await postHelp(url, 1, 21, { 'x-telegram-bot-api-secret-token': 'wrong' })).status, 401);
  assert.equal((await postHelp(url, 2, 21)).status, 200);
  await tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === 21);
  await bot.stop();
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'the port is closed');
});

test('a shared server: listening before setWebhook, the web app beside it, and after stop() posts get 503 while the web app stays', async () => {
  const web = prepareWebServer({ engine: services.engine, logger, env: {}, host: '127.0.0.1', port: 0, say: () => {} });
  let setWebhookCallsWhenListening: number | undefined;
  const server = {
    app: web.app,
    async listen() {
      const { port } = await web.listen();
      setWebhookCallsWhenListening = tg.callsOf('setWebhook').length;
      return port;
    },
  };
  const earlier = tg.callsOf('setWebhook').length;
  const bot = await startTelegramBot(services, {
    token: TOKEN,
    apiRoot: tg.apiRoot,
    webhookUrl: 'https://bot.example.com/shared/hook',
    webhookSecret: secret,
    server,
  });
  try {
    const { port, url: base } = await web.listen();
    assert.equal(setWebhookCallsWhenListening, earlier, 'the server listened before setWebhook');
    assert.equal(tg.callsOf('setWebhook').length, earlier + 1);
    assert.equal(bot.mode, `webhook on port ${port}`);
    assert.equal((await fetch(`${base}/`)).status, 200);
    assert.equal((await postHelp(`${base}/shared/hook`, 3, 22, {})).status, 401);
    assert.equal((await postHelp(`${base}/shared/hook`, 4, 22)).status, 200);
    await tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === 22);
    // The webhook's own limits and answers, not the web API's (10 MB of audio, sentences about files).
    const huge = await fetch(`${base}/shared/hook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
      body: JSON.stringify({ update_id: 6, pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    assert.equal(huge.status, 413);
    assert.equal(await huge.text(), 'too large');
    const notJson = await fetch(`${base}/shared/hook`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-telegram-bot-api-secret-token': secret },
      body: 'hello',
    });
    assert.equal(notJson.status, 415);
    await bot.stop();
    const refused = await postHelp(`${base}/shared/hook`, 5, 23);
    assert.equal(refused.status, 503, 'Telegram delivers it again later');
    assert.equal((await fetch(`${base}/healthz`)).status, 200, "the web app is not the bot's to close");
  } finally {
    await web.app.close();
  }
  assert.equal(tg.callsOf('sendMessage').filter((c) => Number(c.params.chat_id) === 23).length, 0);
});
