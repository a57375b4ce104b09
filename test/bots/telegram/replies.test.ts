/** Rendering of structured replies as Telegram messages (against the fake Bot API server). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api } from 'grammy';
import { deliver, type TelegramTimeline } from '../../../src/bots/telegram/replies.ts';
import { MemoryTimelineStore } from '../../../src/state/timelines.ts';
import { createLogger } from '../../../src/util/log.ts';
import type { AlertReply, SummaryReply } from '../../../src/commands/types.ts';
import { FakeTelegram } from '../../fakes/telegram/server.ts';
import { plain } from './harness.ts';

const TOKEN = '555:replies-test-token';

async function setup(t: import('node:test').TestContext) {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const deps = {
    api: new Api(TOKEN, { apiRoot: tg.apiRoot }),
    timelines: new MemoryTimelineStore<TelegramTimeline>({ capacity: 10 }),
    logger: createLogger({ level: 'silent' }),
  };
  return { tg, deps };
}

test('a summary too long for one message is cut as text, keeps its <pre> block, and its chart follows as a photo', async (t) => {
  const { tg, deps } = await setup(t);
  const body = Array.from({ length: 400 }, (_, i) => `member ${i} <&> ${'█'.repeat(10)}`).join('\n');
  const reply = {
    kind: 'summary',
    title: 'Mood of this chat, last 24 h',
    body,
    png: new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
    summary: {},
  } as unknown as SummaryReply;
  await deliver(deps, { chatId: -5, replyTo: 9, lang: 'en' }, [reply]);
  const [msg] = tg.callsOf('sendMessage');
  const html = String(msg.params.text);
  assert.match(html, /^<b>Mood of this chat, last 24 h<\/b>\n<pre>[^]*<\/pre>$/);
  assert.ok(!/<(?!\/?(b|pre)>)/.test(html), 'only our own tags; the body is escaped');
  assert.ok(plain(html).length <= 4096);
  assert.ok(plain(html).endsWith('…'));
  assert.deepEqual(msg.params.reply_parameters, { message_id: 9, allow_sending_without_reply: true });
  const [photo] = tg.callsOf('sendPhoto');
  assert.equal(photo.params.caption, 'Mood of this chat, last 24 h');
});

test('an alert goes privately to each opted-in admin and never to the group', async (t) => {
  const { tg, deps } = await setup(t);
  const alert = {
    kind: 'alert',
    title: 'Heads-up: Eve sounds upset repeatedly',
    text: 'Chat: Team\n2 notes',
    notifyUserIds: ['11', '12'],
    lang: 'en',
    signal: { id: 's1' },
  } as unknown as AlertReply;
  await deliver(deps, { chatId: -5, replyTo: 9, lang: 'en' }, [alert]);
  const sent = tg.callsOf('sendMessage');
  assert.deepEqual(sent.map((c) => Number(c.params.chat_id)).sort(), [11, 12]);
  for (const c of sent) {
    assert.equal(c.params.reply_parameters, undefined);
    assert.match(plain(String(c.params.text)), /^Heads-up: Eve sounds upset repeatedly\nChat: Team\n2 notes$/);
  }
});

test('a cut never splits an emoji: the fake Bot API (like the real one) refuses a lone surrogate', async (t) => {
  const { tg, deps } = await setup(t);
  // The cut falls right after the first half of an emoji's surrogate pair.
  const body = `a${'😀'.repeat(3000)}`;
  const reply = { kind: 'summary', title: 'T', body, summary: {} } as unknown as SummaryReply;
  await deliver(deps, { chatId: -5, replyTo: 9, lang: 'en' }, [reply]);
  const text = plain(String(tg.callsOf('sendMessage')[0].params.text));
  assert.ok(text.length <= 4096);
  assert.ok(text.endsWith('😀…'), text.slice(-4));
});

test('a text reply is escaped once for HTML parse mode: <, >, & and " read back as written', async (t) => {
  const { tg, deps } = await setup(t);
  const text = 'Saved: name = "a <b> & c"';
  await deliver(deps, { chatId: -5, lang: 'en' }, [{ kind: 'text', text }]);
  const [msg] = tg.callsOf('sendMessage');
  assert.equal(msg.params.text, 'Saved: name = &quot;a &lt;b&gt; &amp; c&quot;');
  assert.equal(plain(String(msg.params.text)), text);
});
