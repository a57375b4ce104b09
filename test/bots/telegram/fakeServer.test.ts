/** The fake Bot API server behaves like the real one where our bot relies on it (checked with grammY's own client). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, Bot, GrammyError, InputFile } from 'grammy';
import { FakeTelegram, GET_FILE_LIMIT_BYTES } from '../../fakes/telegram/server.ts';
import { messageUpdate, privateChat, textMessage, user } from '../../fakes/telegram/updates.ts';

const TOKEN = '123456:FAKE-server-test-token';

test('wrong token gets 401 Unauthorized, right token gets getMe', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const good = new Api(TOKEN, { apiRoot: tg.apiRoot });
  assert.equal((await good.getMe()).username, 'voicemood_test_bot');
  const bad = new Api('999:wrong', { apiRoot: tg.apiRoot });
  await assert.rejects(bad.getMe(), (e: unknown) => e instanceof GrammyError && e.error_code === 401);
  assert.equal(tg.unauthorized, 1);
});

test('long polling delivers pushed updates once, in order, and stop() confirms them', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const bot = new Bot(TOKEN, { client: { apiRoot: tg.apiRoot } });
  const seen: string[] = [];
  let done!: () => void;
  const allSeen = new Promise<void>((r) => (done = r));
  bot.on('message:text', (ctx) => {
    seen.push(ctx.message.text);
    if (seen.length === 3) done();
  });
  const alice = user(1);
  const running = bot.start({ timeout: 5 });
  for (const text of ['one', 'two', 'three']) tg.pushUpdate(messageUpdate(textMessage(tg, privateChat(alice), alice, text)));
  await allSeen;
  await bot.stop();
  await running;
  assert.deepEqual(seen, ['one', 'two', 'three']);
  // A fresh poll from offset 0 gets nothing: the updates were confirmed.
  const api = new Api(TOKEN, { apiRoot: tg.apiRoot });
  const last = tg.callsOf('getUpdates').at(-1)!;
  assert.equal(Number(last.params.offset), 4);
  assert.deepEqual(await api.getUpdates({ offset: 4, timeout: 0 }), []);
});

test('getFile serves downloads, refuses files above 20 MB, records multipart photos', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const api = new Api(TOKEN, { apiRoot: tg.apiRoot });
  tg.addFile('small', { bytes: new Uint8Array([1, 2, 3]) });
  tg.addFile('huge', { bytes: new Uint8Array(1), size: GET_FILE_LIMIT_BYTES + 1 });
  const file = await api.getFile('small');
  const res = await fetch(`${tg.apiRoot}/file/bot${TOKEN}/${file.file_path}`);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), new Uint8Array([1, 2, 3]));
  await assert.rejects(api.getFile('huge'), (e: unknown) => e instanceof GrammyError && /too big/.test(e.description));
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  await api.sendPhoto(-100, new InputFile(png, 'chart.png'), { caption: 'chart', reply_markup: { inline_keyboard: [[{ text: 'x', callback_data: 'y' }]] } });
  const call = tg.callsOf('sendPhoto')[0];
  assert.equal(call.params.caption, 'chart');
  assert.deepEqual(call.params.reply_markup, { inline_keyboard: [[{ text: 'x', callback_data: 'y' }]] });
  const part = Object.values(call.files)[0];
  assert.deepEqual(part.bytes, png);
});
