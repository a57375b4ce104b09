/**
 * End to end: the REAL discord.js client (through startDiscordBot) against the fake gateway + REST
 * on 127.0.0.1, with the tiny random-weight model and a real history store.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDiscordBot, type StartedDiscordBot } from '../../../src/bots/discord/index.ts';
import { BUTTON, codeBlock } from '../../../src/bots/discord/render.ts';
import { TokenBucketLimiter } from '../../../src/state/rateLimit.ts';
import type { Services } from '../../../src/usecases/ports.ts';
import { openHistory } from '../../../src/history/open.ts';
import type { HistoryStore } from '../../../src/domain/history.ts';
import { analyzeVoice } from '../../../src/usecases/analyzeVoice.ts';
import { buildCard, renderCardBars, renderCardTitle } from '../../../src/render/card.ts';
import { t } from '../../../src/render/i18n.ts';
import { InMemoryModerationGate } from '../../../src/state/moderationGate.ts';
import type { Engine } from '../../../src/inference/engine.ts';
import { createLogger } from '../../../src/util/log.ts';
import { FakeDiscord, PERMISSIONS, nextSnowflake, type RecordedCall } from '../../fakes/discord/server.ts';
import { FIXTURES, tinyEngine } from './voiceHarness.ts';

const TOKEN = 'discord-e2e-token-abcdef';
const GUILD = '100000000000000001';
const TEXT = '300000000000000001';
const LOG = '300000000000000003';
const NOHIST = '300000000000000004';
const ALICE = '200000000000000001';
const BOB = '200000000000000002';

let fake: FakeDiscord;
let engine: Engine;
let history: HistoryStore;
let dataDir: string;
let started: StartedDiscordBot;
let voiceBytes: Uint8Array;

before(async () => {
  fake = await new FakeDiscord({
    token: TOKEN,
    guilds: [
      {
        id: GUILD,
        name: 'Test Guild',
        ownerId: ALICE,
        channels: [
          { id: TEXT, name: 'general', type: 0 },
          { id: '300000000000000002', name: 'Voice', type: 2 },
          { id: LOG, name: 'mod-log', type: 0 },
          { id: NOHIST, name: 'no-history', type: 0, noHistory: true },
        ],
        members: [
          { id: ALICE, username: 'alice', global_name: 'Alice' },
          { id: BOB, username: 'bob', global_name: 'Bob' },
        ],
      },
    ],
  }).start();
  engine = await tinyEngine();
  dataDir = await mkdtemp(join(tmpdir(), 'vm-discord-history-'));
  history = await openHistory({ env: { VOICEMOOD_DATA_DIR: dataDir } });
  const services: Services = {
    engine,
    history,
    settings: history,
    limiter: new TokenBucketLimiter({ clock: Date.now }),
    moderation: new InMemoryModerationGate(),
    logger: createLogger({ level: 'silent' }),
    clock: Date.now,
  };
  started = await startDiscordBot(services, {
    token: TOKEN,
    env: { DISCORD_API_BASE: fake.apiBase, VOICEMOOD_DISCORD_CDN_HOSTS: fake.cdnHosts, DISCORD_GUILD_ID: GUILD },
  });
  voiceBytes = new Uint8Array(await readFile(new URL('voice-message.ogg', FIXTURES)));
});

after(async () => {
  if (process.env.DUMP_CALLS) for (const c of fake.calls) console.log(c.seq, c.method, c.path, JSON.stringify(c.body)?.slice(0, 160));
  await started?.stop();
  await fake?.close();
  await engine?.close();
  await history?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Calls recorded after `mark`. */
function since(mark: number): (match: (c: RecordedCall) => boolean) => (c: RecordedCall) => boolean {
  return (match) => (c) => c.seq >= mark && match(c);
}

function slash(userId: string, name: string, options: unknown[] = [], extra: { permissions?: string; resolved?: unknown } = {}) {
  return fake.interaction(
    GUILD,
    TEXT,
    userId,
    2,
    { id: nextSnowflake(), name, type: 1, options, ...(extra.resolved ? { resolved: extra.resolved } : {}) },
    extra.permissions ? { permissions: extra.permissions } : {},
  );
}

async function expectedCard(bytes: Uint8Array) {
  const analysis = await analyzeVoice(engine, bytes, { filename: 'voice-message.ogg', frames: true });
  const card = buildCard(analysis, 'en');
  return { title: renderCardTitle(card), body: codeBlock(renderCardBars(card)) };
}

test('slash commands are registered in the development guild', async () => {
  const put = await fake.waitForCall((c) => c.method === 'PUT' && c.path === `/applications/${fake.applicationId}/guilds/${GUILD}/commands`);
  const names = (put.body as { name: string }[]).map((c) => c.name).sort();
  assert.deepEqual(names, ['analyze', 'forget', 'listen', 'me', 'mood', 'privacy', 'settings']);
  // Server-only commands are not offered in DMs (contexts [0] = Guild) and default to Manage Server.
  for (const c of put.body as { name: string; contexts?: number[]; default_member_permissions?: string }[]) {
    if (c.name === 'listen' || c.name === 'settings') {
      assert.deepEqual(c.contexts, [0], c.name);
      assert.equal(c.default_member_permissions, String(1n << 5n), c.name);
    }
  }
  assert.equal(started.username, 'voicemood');
});

test('a voice message gets its card embed with the engine scores, and the Timeline button adds the strip and chart', async () => {
  const at = fake.calls.length;
  const attachment = fake.addAttachment('voice-message.ogg', voiceBytes, 'audio/ogg', { duration_secs: 2.8, waveform: 'AAAA' });
  fake.dispatch('MESSAGE_CREATE', fake.message(GUILD, TEXT, ALICE, { attachments: [attachment], flags: 1 << 13 }));
  const posted = await fake.waitForCall(since(at)((c) => c.method === 'POST' && c.path === `/channels/${TEXT}/messages` && c.body?.embeds?.length > 0));
  const want = await expectedCard(voiceBytes);
  const embed = posted.body.embeds[0];
  assert.equal(embed.title, want.title);
  assert.equal(embed.description, want.body);
  assert.equal(posted.body.message_reference?.message_id !== undefined, true, 'the card replies to the voice message');
  const button = posted.body.components?.[0]?.components?.[0];
  assert.ok(button?.custom_id?.startsWith(BUTTON.timeline), 'a Timeline button');

  const mark = fake.calls.length;
  const click = fake.interaction(
    GUILD,
    TEXT,
    ALICE,
    3,
    { custom_id: button.custom_id, component_type: 2 },
    { message: fake.message(GUILD, TEXT, fake.botUser.id, { embeds: posted.body.embeds, components: posted.body.components }) },
  );
  fake.dispatch('INTERACTION_CREATE', click);
  const deferred = await fake.waitForCall(since(mark)((c) => c.path === `/interactions/${click.id}/${click.token}/callback`));
  assert.equal(deferred.body.type, 6, 'DEFERRED_UPDATE_MESSAGE: acknowledged before the chart is drawn');
  const update = await fake.waitForCall(
    since(mark)((c) => c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${click.token}/messages/@original`),
  );
  assert.equal(update.body.embeds[0].title, want.title);
  assert.match(update.body.embeds[1].description, /Timeline/);
  assert.equal(update.body.embeds[1].image.url, 'attachment://timeline.png');
  assert.equal(update.files[0]?.filename, 'timeline.png');
  assert.deepEqual([...update.files[0].bytes.subarray(1, 4)], [...Buffer.from('PNG')]);
  assert.deepEqual(update.body.components, []);
});

test('/analyze answers through the interaction callback and the @original edit', async () => {
  const at = fake.calls.length;
  const attachment = fake.addAttachment('clip.ogg', voiceBytes, 'audio/ogg');
  const i = slash(BOB, 'analyze', [{ name: 'audio', type: 11, value: attachment.id }], {
    resolved: { attachments: { [attachment.id as string]: attachment } },
  });
  fake.dispatch('INTERACTION_CREATE', i);
  const deferred = await fake.waitForCall(since(at)((c) => c.path === `/interactions/${i.id}/${i.token}/callback`));
  assert.equal(deferred.body.type, 5, 'DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE');
  const edit = await fake.waitForCall(since(at)((c) => c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${i.token}/messages/@original`));
  const want = await expectedCard(voiceBytes);
  assert.equal(edit.body.embeds[0].title, want.title);
  assert.equal(edit.body.embeds[0].description, want.body);
});

test('/me lists the caller’s analyses; /forget deletes them; /me is then empty', async () => {
  const run = async (name: string) => {
    const at = fake.calls.length;
    const i = slash(ALICE, name);
    fake.dispatch('INTERACTION_CREATE', i);
    const cb = await fake.waitForCall(since(at)((c) => c.path === `/interactions/${i.id}/${i.token}/callback`));
    assert.equal(cb.body.type, 5);
    assert.equal(cb.body.data?.flags, 64, 'only the caller sees it');
    return fake.waitForCall(since(at)((c) => c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${i.token}/messages/@original`));
  };
  const me = await run('me');
  assert.match(me.body.content, new RegExp(t('en').meTitle(1).replace(/[()]/g, '.')), me.body.content);
  const forget = await run('forget');
  assert.equal(
    forget.body.content,
    t('en')
      .forgetDone(1, 1, 0)
      .replace(/[*_~`|>\\]/g, (ch: string) => `\\${ch}`),
  );
  assert.equal((await history.listUser('discord', ALICE)).length, 0);
  assert.equal((await history.listUser('discord', BOB)).length, 1, 'Bob keeps his /analyze entry');
  const again = await run('me');
  assert.equal(
    again.body.content,
    t('en').meEmpty.replace(/[*_~`|>\\!]/g, (ch: string) => (ch === '!' ? ch : `\\${ch}`)),
  );
});

test('/settings is refused to non-admins with a sentence, and works for a Manage Server admin', async () => {
  const at = fake.calls.length;
  const denied = slash(
    BOB,
    'settings',
    [
      { name: 'name', type: 3, value: 'consent' },
      { name: 'value', type: 3, value: 'opt_out' },
    ],
    { permissions: PERMISSIONS.member },
  );
  fake.dispatch('INTERACTION_CREATE', denied);
  // Deferred (ephemeral) before the store is read, then the answer edits it in.
  const deferred = await fake.waitForCall(since(at)((c) => c.path === `/interactions/${denied.id}/${denied.token}/callback`));
  assert.equal(deferred.body.type, 5);
  assert.equal(deferred.body.data.flags, 64);
  const no = await fake.waitForCall(since(at)((c) => c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${denied.token}/messages/@original`));
  assert.equal(no.body.content, t('en').settingsAdminOnly);
  assert.equal((await history.getChatSettings('discord', GUILD)).consentMode, 'opt_in', 'nothing changed');

  const mark = fake.calls.length;
  const ok = slash(
    ALICE,
    'settings',
    [
      { name: 'name', type: 3, value: 'logchannel' },
      { name: 'channel', type: 7, value: LOG },
    ],
    {
      permissions: PERMISSIONS.manageGuild,
      resolved: { channels: { [LOG]: { id: LOG, name: 'mod-log', type: 0, permissions: PERMISSIONS.manageGuild } } },
    },
  );
  fake.dispatch('INTERACTION_CREATE', ok);
  const yes = await fake.waitForCall(since(mark)((c) => c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${ok.token}/messages/@original`));
  assert.match(yes.body.content, /Saved/);
  assert.equal((await history.getChatSettings('discord', GUILD)).logChannelId, LOG);
});

test('where the bot may not read the history (a reply is refused, 403 160002) the card is posted without the reply reference', async () => {
  const at = fake.calls.length;
  const attachment = fake.addAttachment('voice-message.ogg', voiceBytes, 'audio/ogg', { duration_secs: 2.8, waveform: 'AAAA' });
  fake.dispatch('MESSAGE_CREATE', fake.message(GUILD, NOHIST, BOB, { attachments: [attachment], flags: 1 << 13 }));
  const posted = await fake.waitForCall(
    since(at)((c) => c.method === 'POST' && c.path === `/channels/${NOHIST}/messages` && c.body?.embeds?.length > 0 && !c.body.message_reference),
  );
  assert.equal(posted.body.embeds[0].title, (await expectedCard(voiceBytes)).title);
  assert.ok(
    fake.calls.some((c) => c.seq >= at && c.path === `/channels/${NOHIST}/messages` && c.body?.message_reference),
    'a reply was tried first',
  );
});

/** A slash command of ALICE's answered ephemerally (deferred, then the @original edit). */
async function ephemeral(name: string, options: unknown[] = []): Promise<RecordedCall> {
  const at = fake.calls.length;
  const i = slash(ALICE, name, options);
  fake.dispatch('INTERACTION_CREATE', i);
  const cb = await fake.waitForCall(since(at)((c) => c.path === `/interactions/${i.id}/${i.token}/callback`));
  assert.equal(cb.body.data?.flags, 64, 'only the caller sees it');
  return fake.waitForCall(since(at)((c) => c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${i.token}/messages/@original`));
}

test('/privacy in a server is for that server, and the reply says which one', async () => {
  const reply = await ephemeral('privacy', [{ name: 'choice', type: 3, value: 'in' }]);
  assert.match(reply.body.content, /in the server Test Guild/);
  assert.deepEqual((await history.getUserSettings('discord', ALICE)).privacyByGuild, { [GUILD]: 'in' });
  assert.equal((await history.getUserSettings('discord', ALICE)).privacy, undefined, 'not a global choice');
});

test('/forget also drops the cards kept for Timeline buttons: a later click says the timeline is gone', async () => {
  const at = fake.calls.length;
  const attachment = fake.addAttachment('voice-message.ogg', voiceBytes, 'audio/ogg', { duration_secs: 2.8, waveform: 'AAAA' });
  fake.dispatch('MESSAGE_CREATE', fake.message(GUILD, TEXT, ALICE, { attachments: [attachment], flags: 1 << 13 }));
  const posted = await fake.waitForCall(since(at)((c) => c.method === 'POST' && c.path === `/channels/${TEXT}/messages` && c.body?.embeds?.length > 0));
  const button = posted.body.components?.[0]?.components?.[0];
  assert.ok(button?.custom_id?.startsWith(BUTTON.timeline));
  await ephemeral('forget');
  const mark = fake.calls.length;
  const click = fake.interaction(
    GUILD,
    TEXT,
    ALICE,
    3,
    { custom_id: button.custom_id, component_type: 2 },
    { message: fake.message(GUILD, TEXT, fake.botUser.id, { embeds: posted.body.embeds, components: posted.body.components }) },
  );
  fake.dispatch('INTERACTION_CREATE', click);
  const answer = await fake.waitForCall(since(mark)((c) => c.path === `/interactions/${click.id}/${click.token}/callback`));
  assert.equal(answer.body.type, 4);
  assert.equal(answer.body.data.flags, 64);
  assert.equal(answer.body.data.content, 'That timeline is no longer available; send the voice message again.');
  assert.equal(fake.calls.filter((c) => c.seq >= mark && c.method === 'PATCH').length, 0, 'the card is not edited');
});

test('/me export:true answers ephemerally with a JSON file of everything stored about the caller', async () => {
  const at = fake.calls.length;
  const attachment = fake.addAttachment('voice-message.ogg', voiceBytes, 'audio/ogg', { duration_secs: 2.8, waveform: 'AAAA' });
  fake.dispatch('MESSAGE_CREATE', fake.message(GUILD, TEXT, ALICE, { attachments: [attachment], flags: 1 << 13 }));
  await fake.waitForCall(since(at)((c) => c.method === 'POST' && c.path === `/channels/${TEXT}/messages` && c.body?.embeds?.length > 0));
  await ephemeral('privacy', [{ name: 'choice', type: 3, value: 'in' }]);
  const reply = await ephemeral('me', [{ name: 'export', type: 5, value: true }]);
  assert.equal(reply.files.length, 1);
  assert.equal(reply.files[0].filename, `voicemood-discord-${ALICE}.json`);
  const doc = JSON.parse(new TextDecoder().decode(reply.files[0].bytes));
  assert.equal(doc.platform, 'discord');
  assert.equal(doc.userId, ALICE);
  assert.deepEqual(doc.settings, { privacyByGuild: { [GUILD]: 'in' } });
  assert.equal(doc.entries.length, 1);
  assert.equal(doc.entries[0].guildId, GUILD);
  assert.match(reply.body.content, /Everything I stored about you/);
  // Without the option, /me is the usual summary.
  assert.equal((await ephemeral('me')).files.length, 0);
});

test('every message the bot wrote in this file (cards, edits, follow-ups, settings, errors) has allowed_mentions.parse = []', () => {
  assert.ok(fake.messageWrites.length >= 10, `${fake.messageWrites.length} writes recorded`);
  assert.ok(
    fake.messageWrites.some((w) => w.path.startsWith('/webhooks/')) && fake.messageWrites.some((w) => w.path.startsWith('/channels/')),
    'interaction edits and channel messages were both seen',
  );
  assert.deepEqual(fake.mentionLeaks(), []);
});
