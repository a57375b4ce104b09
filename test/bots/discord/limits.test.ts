/**
 * Issue 7 on Discord, the REAL discord.js client against the fake gateway + REST: past the
 * engine's capacity, voice messages get a polite "busy, try again in N s" before anything is
 * downloaded; a hung engine ends in a polite "took too long" at the request deadline; the per-user
 * rate limit refuses before downloading. The engine is the command tests' fake, held on purpose.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDiscordBot, type StartedDiscordBot } from '../../../src/bots/discord/index.ts';
import { TokenBucketLimiter } from '../../../src/state/rateLimit.ts';
import type { Services } from '../../../src/usecases/ports.ts';
import { openHistory } from '../../../src/history/open.ts';
import type { HistoryStore } from '../../../src/domain/history.ts';
import type { EmotionResult } from '../../../src/inference/types.ts';
import { InMemoryModerationGate } from '../../../src/state/moderationGate.ts';
import { createLogger } from '../../../src/util/log.ts';
import { fakeEngine, type FakeEngine } from '../../commands/helpers.ts';
import { FakeDiscord, type RecordedCall } from '../../fakes/discord/server.ts';
import { FIXTURES } from './voiceHarness.ts';

const TOKEN = 'discord-limits-token-z1x2c3';
const GUILD = '130000000000000001';
const TEXT = '330000000000000001';
const USERS = Array.from({ length: 8 }, (_, i) => `23000000000000000${i}`);

let fake: FakeDiscord;
let engine: FakeEngine;
let history: HistoryStore;
let services: Services;
/** What the use case counted for /metrics, as platform:outcome. */
const counted: string[] = [];
const countOf = (what: string): number => counted.filter((c) => c === what).length;
let dataDir: string;
let started: StartedDiscordBot;
let voice: Uint8Array;

before(async () => {
  fake = await new FakeDiscord({
    token: TOKEN,
    guilds: [
      {
        id: GUILD,
        name: 'Busy',
        ownerId: USERS[0],
        channels: [{ id: TEXT, name: 'general', type: 0 }],
        members: USERS.map((id, i) => ({ id, username: `u${i}`, global_name: `User ${i}` })),
      },
    ],
  }).start();
  engine = fakeEngine(); // capacity 4
  dataDir = await mkdtemp(join(tmpdir(), 'vm-discord-limits-'));
  history = await openHistory({ env: { VOICEMOOD_DATA_DIR: dataDir } });
  services = {
    engine,
    history,
    settings: history,
    limiter: new TokenBucketLimiter({ clock: Date.now, rules: { user: { capacity: 2, perMinute: 2 } } }),
    moderation: new InMemoryModerationGate(),
    logger: createLogger({ level: 'silent' }),
    clock: Date.now,
    metrics: { analysis: (platform, outcome) => void counted.push(`${platform}:${outcome}`) },
  };
  started = await startDiscordBot(services, { token: TOKEN, env: { DISCORD_API_BASE: fake.apiBase, VOICEMOOD_DISCORD_CDN_HOSTS: fake.cdnHosts } });
  voice = new Uint8Array(await readFile(new URL('voice-message.ogg', FIXTURES)));
});

after(async () => {
  await started?.stop();
  await fake?.close();
  await history?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Posts a voice message; returns its id and the attachment path (to count downloads). */
function post(user: string): { id: string; path: string } {
  const attachment = fake.addAttachment('voice-message.ogg', voice, 'audio/ogg');
  const msg = fake.message(GUILD, TEXT, user, { attachments: [attachment], flags: 1 << 13 });
  fake.dispatch('MESSAGE_CREATE', msg);
  return { id: msg.id as string, path: new URL(attachment.url as string).pathname };
}
const replyTo = (id: string) => (c: RecordedCall) =>
  c.method === 'POST' && c.path === `/channels/${TEXT}/messages` && c.body?.message_reference?.message_id === id;
const textOf = (c: RecordedCall): string => c.body?.content ?? JSON.stringify(c.body?.embeds ?? []);

test('past the engine’s capacity: "busy, try again in N s", and the rest are answered once it frees up', async () => {
  counted.length = 0;
  const held: (() => void)[] = [];
  let fourHeld!: () => void;
  const fourReachedEngine = new Promise<void>((r) => (fourHeld = r));
  const real = engine.analyze.bind(engine);
  engine.analyze = (samples, opts) =>
    new Promise<EmotionResult>((resolve, reject) => {
      if (held.push(() => void real(samples, opts).then(resolve, reject)) === 4) fourHeld();
    });
  const notes = USERS.slice(0, 5).map((u) => post(u));
  try {
    const busy = await fake.waitForCall(replyTo(notes[4].id));
    assert.match(textOf(busy), /I am busy with other voice right now\. Please try again in 10 s\./);
    await fourReachedEngine;
    for (const release of held.splice(0)) release();
    for (const n of notes.slice(0, 4)) assert.ok((await fake.waitForCall(replyTo(n.id))).body.embeds?.length > 0, 'a card');
  } finally {
    engine.analyze = real;
    // After a failure too: nothing stays held, and the held notes are answered before the next test counts.
    for (const release of held.splice(0)) release();
    await Promise.allSettled(notes.map((n) => fake.waitForCall(replyTo(n.id), 5_000)));
  }
  assert.equal(countOf('discord:busy'), 1, counted.join());
  assert.equal(countOf('discord:ok'), 4);
});

test('a hung engine ends in a polite "took too long" at the request deadline', async () => {
  const real = engine.analyze.bind(engine);
  engine.analyze = () => new Promise<EmotionResult>(() => undefined);
  services.requestTimeoutMs = 300;
  try {
    counted.length = 0;
    const n = post(USERS[5]);
    const reply = await fake.waitForCall(replyTo(n.id));
    assert.match(textOf(reply), /took longer than 1 s to process, so I stopped/);
    assert.deepEqual(counted, ['discord:timeout']);
  } finally {
    engine.analyze = real;
    delete services.requestTimeoutMs;
  }
});

test('the per-user rate limit refuses before downloading', async () => {
  counted.length = 0;
  const user = USERS[6];
  const notes = [post(user), post(user), post(user)];
  const replies = await Promise.all(notes.map((n) => fake.waitForCall(replyTo(n.id))));
  const refused = replies.filter((c) => /You are sending a lot right now/.test(textOf(c)));
  assert.equal(refused.length, 1);
  assert.equal(replies.length - refused.length, 2);
  assert.equal(countOf('discord:rate_limited'), 1, counted.join());
  assert.equal(countOf('discord:ok'), 2);
  // The refused note's attachment was never fetched.
  const refusedNote = notes[replies.indexOf(refused[0])];
  assert.equal(fake.attachmentGets.filter((p) => p === refusedNote.path).length, 0);
  assert.equal(fake.attachmentGets.filter((p) => notes.some((n) => n.path === p)).length, 2);
});

test('a failing settings store still gets every command an answer: deferred first, then a sentence', async () => {
  const store = services.settings as { getUserSettings: (...a: never[]) => Promise<unknown> };
  const real = store.getUserSettings;
  store.getUserSettings = async () => {
    throw new Error('store down');
  };
  try {
    for (const name of ['me', 'privacy', 'settings']) {
      const at = fake.calls.length;
      const i = fake.interaction(GUILD, TEXT, USERS[5], 2, { id: '990000000000000001', name, type: 1, options: [] });
      fake.dispatch('INTERACTION_CREATE', i);
      const cb = await fake.waitForCall((c) => c.seq >= at && c.path === `/interactions/${i.id}/${i.token}/callback`);
      assert.equal(cb.body.type, 5, `${name} is acknowledged before the store is read`);
      const answer = await fake.waitForCall(
        (c) => c.seq >= at && c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${i.token}/messages/@original`,
      );
      assert.ok(answer.body.content.length > 0, name);
      assert.doesNotMatch(answer.body.content, /store down/, 'no internals shown');
    }
  } finally {
    store.getUserSettings = real;
  }
});

test('an attachment that is not on the allowed CDN host is refused with a sentence and never fetched', async () => {
  // Another local server stands for any other host: it must see no request at all.
  const hits: string[] = [];
  const other = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'audio/ogg' }).end(Buffer.from(voice));
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  try {
    const port = (other.address() as AddressInfo).port;
    const genuine = fake.addAttachment('voice-message.ogg', voice, 'audio/ogg');
    for (const url of [
      `http://127.0.0.1:${port}/attachments/1/voice-message.ogg`,
      `http://localhost:${new URL(String(genuine.url)).port}/attachments/1/voice-message.ogg`,
    ]) {
      const msg = fake.message(GUILD, TEXT, USERS[7], { attachments: [{ ...genuine, url, proxy_url: url }], flags: 1 << 13 });
      fake.dispatch('MESSAGE_CREATE', msg);
      const reply = await fake.waitForCall(replyTo(msg.id as string));
      assert.match(textOf(reply), /That file is not on Discord’s file server, so I did not download it\./, url);
    }
    assert.deepEqual(hits, [], 'nothing fetched from the other host');
  } finally {
    await new Promise<void>((r) => other.close(() => r()));
  }
});
