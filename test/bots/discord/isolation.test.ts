/**
 * Issue 7, Discord side: nobody sees or touches another person's, channel's or server's data.
 * The REAL discord.js client against the fake gateway + REST, two servers, a real history store;
 * the engine is the command tests' fake (a fixed emotion per note), so that the moderation rule
 * can be driven on purpose. Decoding is real (a voice-message.ogg fixture).
 *
 *   Server 1: Alice, Bob            Server 2: Carol, Bob (Bob is in both)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDiscordBot, type StartedDiscordBot } from '../../../src/bots/discord/index.ts';
import { BUTTON } from '../../../src/bots/discord/render.ts';
import { ds } from '../../../src/bots/discord/strings.ts';
import { TokenBucketLimiter } from '../../../src/state/rateLimit.ts';
import type { Services } from '../../../src/usecases/ports.ts';
import { openHistory } from '../../../src/history/open.ts';
import type { HistoryStore } from '../../../src/domain/history.ts';
import { t } from '../../../src/render/i18n.ts';
import { InMemoryModerationGate } from '../../../src/state/moderationGate.ts';
import { createLogger } from '../../../src/util/log.ts';
import { fakeEngine, type FakeEngine } from '../../commands/helpers.ts';
import { FakeDiscord, PERMISSIONS, nextSnowflake, type RecordedCall } from '../../fakes/discord/server.ts';
import { FIXTURES } from './voiceHarness.ts';

const TOKEN = 'discord-isolation-token-q8w7e6';
const G1 = '110000000000000001';
const G2 = '120000000000000001';
const TEXT1 = '310000000000000001';
const LOG1 = '310000000000000002';
const TEXT2 = '320000000000000001';
const LOG2 = '320000000000000002';
const ALICE = '210000000000000001';
const BOB = '210000000000000002';
const CAROL = '220000000000000001';
/** A member whose display name is a mass mention. */
const EVE = '210000000000000005';

let fake: FakeDiscord;
let engine: FakeEngine;
let history: HistoryStore;
let dataDir: string;
let started: StartedDiscordBot;
let voice: Uint8Array;
/** The bot's warnings (JSON lines). */
const logLines: string[] = [];
const logWaiters: { text: string; from: number; resolve: (line: string) => void }[] = [];
function logged(line: string): void {
  logLines.push(line);
  for (const w of logWaiters.splice(0)) {
    if (logLines.length > w.from && line.includes(w.text)) w.resolve(line);
    else logWaiters.push(w);
  }
}
/**
 * The first log line from index `from` on that contains `text`, as soon as it is written (no
 * polling); rejects after `timeoutMs` saying what was logged instead.
 */
function untilLogged(text: string, from: number, timeoutMs = 30_000): Promise<string> {
  const found = logLines.slice(from).find((l) => l.includes(text));
  if (found !== undefined) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no log line with "${text}"; got ${logLines.slice(from).join('')}`)), timeoutMs);
    logWaiters.push({ text, from, resolve: (line) => (clearTimeout(timer), resolve(line)) });
  });
}

before(async () => {
  const alice = { id: ALICE, username: 'alice', global_name: 'Alice' };
  const bob = { id: BOB, username: 'bob', global_name: 'Bob' };
  const carol = { id: CAROL, username: 'carol', global_name: 'Carol' };
  const eve = { id: EVE, username: 'eve', global_name: '@everyone' };
  fake = await new FakeDiscord({
    token: TOKEN,
    guilds: [
      {
        id: G1,
        name: 'One',
        ownerId: ALICE,
        channels: [
          { id: TEXT1, name: 'general', type: 0 },
          { id: LOG1, name: 'mod-log', type: 0 },
        ],
        members: [alice, bob, eve],
      },
      {
        id: G2,
        name: 'Two',
        ownerId: CAROL,
        channels: [
          { id: TEXT2, name: 'general', type: 0 },
          { id: LOG2, name: 'mod-log', type: 0 },
        ],
        members: [carol, bob],
      },
    ],
  }).start();
  engine = fakeEngine();
  dataDir = await mkdtemp(join(tmpdir(), 'vm-discord-isolation-'));
  history = await openHistory({ env: { VOICEMOOD_DATA_DIR: dataDir } });
  const services: Services = {
    engine,
    history,
    settings: history,
    limiter: new TokenBucketLimiter({ clock: Date.now }),
    moderation: new InMemoryModerationGate(),
    logger: createLogger({ level: 'warn', destination: { write: (line: string) => void logged(line) } as unknown as NodeJS.WritableStream }),
    clock: Date.now,
  };
  // Both servers send alerts to their own log channel.
  await history.setChatSettings('discord', G1, { logChannelId: LOG1 });
  await history.setChatSettings('discord', G2, { logChannelId: LOG2 });
  started = await startDiscordBot(services, { token: TOKEN, env: { DISCORD_API_BASE: fake.apiBase, VOICEMOOD_DISCORD_CDN_HOSTS: fake.cdnHosts } });
  voice = new Uint8Array(await readFile(new URL('voice-message.ogg', FIXTURES)));
});

after(async () => {
  await started?.stop();
  await fake?.close();
  await engine?.close();
  await history?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const json = (c: RecordedCall): string => JSON.stringify(c.body ?? {});
const isPostTo = (channel: string) => (c: RecordedCall) => c.method === 'POST' && c.path === `/channels/${channel}/messages`;

/** Posts a voice message and waits for the card that replies to it. */
async function note(guild: string, channel: string, user: string): Promise<void> {
  const attachment = fake.addAttachment('voice-message.ogg', voice, 'audio/ogg', { duration_secs: 2.8, waveform: 'AAAA' });
  const msg = fake.message(guild, channel, user, { attachments: [attachment], flags: 1 << 13 });
  await new Promise((r) => setImmediate(r));
  fake.dispatch('MESSAGE_CREATE', msg);
  await fake.waitForCall((c) => isPostTo(channel)(c) && c.body?.message_reference?.message_id === msg.id && c.body?.embeds?.length > 0);
}

/** Runs a slash command and returns what the deferred answer was edited to. */
async function slash(
  guild: string,
  channel: string,
  user: string,
  name: string,
  permissions = PERMISSIONS.member,
): Promise<{ callback: RecordedCall; edit: RecordedCall }> {
  const i = fake.interaction(guild, channel, user, 2, { id: nextSnowflake(), name, type: 1, options: [] }, { permissions });
  fake.dispatch('INTERACTION_CREATE', i);
  const callback = await fake.waitForCall((c) => c.path === `/interactions/${i.id}/${i.token}/callback`);
  const edit = await fake.waitForCall((c) => c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${i.token}/messages/@original`);
  return { callback, edit };
}

/** Presses a button of `message` from a member of `guild`; returns the interaction callback. */
async function press(guild: string, channel: string, user: string, customId: string, message: Record<string, unknown>): Promise<RecordedCall> {
  const i = fake.interaction(guild, channel, user, 3, { custom_id: customId, component_type: 2 }, { permissions: PERMISSIONS.manageGuild, message });
  fake.dispatch('INTERACTION_CREATE', i);
  return fake.waitForCall((c) => c.path === `/interactions/${i.id}/${i.token}/callback`);
}

let alert1: RecordedCall;

test('notes in two servers: each server’s alert goes to its own log channel and names only its own member', async () => {
  engine.next = 'angry';
  for (let k = 0; k < 3; k++) await note(G1, TEXT1, ALICE);
  alert1 = await fake.waitForCall((c) => isPostTo(LOG1)(c) && json(c).includes(`<@${ALICE}>`));
  for (let k = 0; k < 3; k++) await note(G2, TEXT2, CAROL);
  const alert2 = await fake.waitForCall((c) => isPostTo(LOG2)(c) && json(c).includes(`<@${CAROL}>`));
  engine.next = 'happy';
  await note(G1, TEXT1, BOB);
  await note(G2, TEXT2, BOB);

  assert.ok(!json(alert1).includes(CAROL) && !json(alert1).includes(BOB), 'server 1’s alert is about Alice only');
  assert.ok(!json(alert2).includes(ALICE) && !json(alert2).includes(BOB), 'server 2’s alert is about Carol only');
  const log2 = fake.calls.filter(isPostTo(LOG2));
  const log1 = fake.calls.filter(isPostTo(LOG1));
  assert.equal(log1.length, 1);
  assert.equal(log2.length, 1);
  assert.ok(
    log2.every((c) => !json(c).includes(ALICE)),
    'nothing about Alice in server 2',
  );
  assert.ok(
    log1.every((c) => !json(c).includes(CAROL)),
    'nothing about Carol in server 1',
  );
});

test('/me shows only the caller’s own notes, privately', async () => {
  const alice = await slash(G1, TEXT1, ALICE, 'me');
  const bob = await slash(G2, TEXT2, BOB, 'me');
  const carol = await slash(G2, TEXT2, CAROL, 'me');
  for (const r of [alice, bob, carol]) assert.equal(r.callback.body.data?.flags, 64, 'ephemeral');
  assert.ok(alice.edit.body.content.includes(t('en').meTitle(3)), alice.edit.body.content);
  assert.ok(bob.edit.body.content.includes(t('en').meTitle(2)), 'Bob: his notes of both servers, nobody else’s');
  assert.ok(carol.edit.body.content.includes(t('en').meTitle(3)));
  for (const r of [alice, bob, carol]) assert.doesNotMatch(json(r.edit), /Alice|Carol|Bob/, '/me names nobody');
});

test('/mood in a server covers that channel’s members only', async () => {
  const mood2 = await slash(G2, TEXT2, CAROL, 'mood');
  const text2 = json(mood2.edit);
  assert.match(text2, /Carol/);
  assert.match(text2, /Bob/);
  assert.doesNotMatch(text2, /Alice/);
  const mood1 = await slash(G1, TEXT1, BOB, 'mood');
  const text1 = json(mood1.edit);
  assert.match(text1, /Alice/);
  assert.doesNotMatch(text1, /Carol/);
});

test('moderation buttons cannot be used from another server; they work in their own', async () => {
  const buttons = (alert1.body.components?.[0]?.components ?? []) as { custom_id: string }[];
  const ack = buttons.find((b) => b.custom_id.startsWith(BUTTON.ack))!.custom_id;
  const snooze = buttons.find((b) => b.custom_id.startsWith(BUTTON.snooze))!.custom_id;
  const message = fake.message(G1, LOG1, fake.botUser.id, { embeds: alert1.body.embeds, components: alert1.body.components });
  // An admin of server 2 presses server 1's buttons (as if the message were shown in server 2).
  for (const id of [ack, snooze]) {
    const foreign = await press(G2, LOG2, CAROL, id, { ...message, channel_id: LOG2, guild_id: G2 });
    assert.equal(foreign.body.type, 4, 'a plain reply, not an update of the alert');
    assert.equal(foreign.body.data.flags, 64);
    assert.equal(foreign.body.data.content, ds('en').alertGone);
  }
  // Server 1's admin still can: the foreign presses changed nothing.
  const own = await press(G1, LOG1, ALICE, ack, message);
  assert.equal(own.body.type, 7, 'UPDATE_MESSAGE');
  assert.equal(own.body.data.embeds[0].footer.text, ds('en').acknowledged('Alice'));
});

test('/forget by Alice deletes her data and leaves Bob’s and Carol’s', async () => {
  const forget = await slash(G1, TEXT1, ALICE, 'forget');
  assert.equal(forget.callback.body.data?.flags, 64);
  assert.equal((await history.listUser('discord', ALICE)).length, 0);
  assert.equal((await history.listUser('discord', BOB)).length, 2);
  assert.equal((await history.listUser('discord', CAROL)).length, 3);
  assert.deepEqual([...new Set((await history.listChat('discord', TEXT1)).map((e) => e.userId))], [BOB], 'server 1’s channel keeps Bob’s note only');
  const mood1 = await slash(G1, TEXT1, BOB, 'mood');
  assert.doesNotMatch(json(mood1.edit), /Alice/);
  assert.match(json(mood1.edit), /Bob/);
  const me = await slash(G1, TEXT1, BOB, 'me');
  assert.ok(me.edit.body.content.includes(t('en').meTitle(2)));
});

/** /settings with options, as an admin; returns the text the deferred answer was edited to. */
async function settings(guild: string, channel: string, user: string, options: { name: string; type: number; value: string }[]): Promise<string> {
  const i = fake.interaction(guild, channel, user, 2, { id: nextSnowflake(), name: 'settings', type: 1, options }, { permissions: PERMISSIONS.manageGuild });
  fake.dispatch('INTERACTION_CREATE', i);
  const edit = await fake.waitForCall((c) => c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${i.token}/messages/@original`);
  return String(edit.body.content);
}

test('/settings logchannel refuses a channel of another server with a sentence, accepts its own', async () => {
  for (const value of [LOG2, `<#${LOG2}>`, '399999999999999999']) {
    const answer = await settings(G1, TEXT1, BOB, [
      { name: 'name', type: 3, value: 'logchannel' },
      { name: 'value', type: 3, value },
    ]);
    assert.equal(
      answer,
      t('en').settingsLogChannelForeign.replace(/[*_~`|>\\]/g, (ch) => `\\${ch}`),
      value,
    );
    assert.equal((await history.getChatSettings('discord', G1)).logChannelId, LOG1, `${value}: unchanged`);
  }
  assert.match(
    await settings(G1, TEXT1, BOB, [
      { name: 'name', type: 3, value: 'logchannel' },
      { name: 'value', type: 3, value: TEXT1 },
    ]),
    /Saved/,
  );
  assert.equal((await history.getChatSettings('discord', G1)).logChannelId, TEXT1);
  await history.setChatSettings('discord', G1, { logChannelId: LOG1 });
});

test('an alert is never posted into another server’s channel, whatever is stored: skipped and logged', async () => {
  // As if stored by an older version that did not check: server 1's log channel is server 2's.
  await history.setChatSettings('discord', G1, { logChannelId: LOG2 });
  const mark = fake.calls.length;
  const warned = logLines.length;
  engine.next = 'angry';
  for (let k = 0; k < 3; k++) await note(G1, TEXT1, BOB);
  engine.next = 'happy';
  const warning = await untilLogged('alert not posted', warned);
  assert.equal(JSON.parse(warning).channelId, LOG2);
  assert.equal(JSON.parse(warning).guildId, G1);
  assert.deepEqual(
    fake.calls.filter((c) => c.seq >= mark && isPostTo(LOG2)(c)),
    [],
    'nothing posted in server 2',
  );
  await history.setChatSettings('discord', G1, { logChannelId: LOG1 });
});

test('a member named "@everyone": her card and the alert about her show the name, and ping nobody', async () => {
  const mark = fake.calls.length;
  engine.next = 'angry';
  for (let k = 0; k < 3; k++) await note(G1, TEXT1, EVE);
  engine.next = 'happy';
  const alert = await fake.waitForCall((c) => c.seq >= mark && isPostTo(LOG1)(c) && json(c).includes(`<@${EVE}>`));
  assert.match(json(alert), /@everyone/);
  assert.deepEqual(alert.body.allowed_mentions, { parse: [] });
  const cards = fake.calls.filter((c) => c.seq >= mark && isPostTo(TEXT1)(c));
  assert.equal(cards.length, 3);
  for (const c of cards) assert.deepEqual(c.body.allowed_mentions, { parse: [], replied_user: false });
});

test('every message the bot wrote (cards, alerts, button updates, command answers) has allowed_mentions.parse = []', () => {
  assert.ok(fake.messageWrites.length >= 10, `${fake.messageWrites.length} writes recorded`);
  assert.deepEqual(fake.mentionLeaks(), []);
});
