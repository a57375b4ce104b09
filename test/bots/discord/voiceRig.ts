/**
 * The voice end-to-end rig: the real discord.js client against the fake gateway + REST, and the
 * REAL @discordjs/voice client (joinVoiceChannel through our default Connector) against the fake
 * voice server (TLS voice gateway v8, UDP IP discovery, AES-256-GCM RTP); the tiny model (or a
 * given engine) and a real history store. Shared by the voice test files.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { VoiceConnection } from '@discordjs/voice';
import { startDiscordBot } from '../../../src/bots/discord/index.ts';
import { defaultConnector } from '../../../src/bots/discord/voice/listeners.ts';
import { OpusDecoder } from '../../../src/bots/discord/voice/opus.ts';
import { TokenBucketLimiter } from '../../../src/state/rateLimit.ts';
import type { Services } from '../../../src/usecases/ports.ts';
import type { EmotionEngine } from '../../../src/inference/types.ts';
import { openHistory } from '../../../src/history/open.ts';
import { InMemoryModerationGate } from '../../../src/state/moderationGate.ts';
import { createLogger, type Logger } from '../../../src/util/log.ts';
import { FakeDiscord, PERMISSIONS, nextSnowflake, type RecordedCall } from '../../fakes/discord/server.ts';
import { FakeVoiceServer } from '../../fakes/discord/voiceServer.ts';
import { silencePackets, tinyEngine } from './voiceHarness.ts';

export const TOKEN = 'discord-voice-token-abcdef';
export const GUILD = '110000000000000001';
export const TEXT = '310000000000000001';
export const VOICE = '310000000000000002';
export const ALICE = '210000000000000001';
export const BOB = '210000000000000002';
export const CAROL = '210000000000000003';
export const LOG = '310000000000000003';
/** A second voice channel (the bot can be moved there). */
export const STAGE = '310000000000000004';
/** A second server running voicemood (RigOptions.otherGuild). */
export const OTHER_GUILD = '110000000000000002';
export const OTHER_TEXT = '320000000000000001';
/**
 * Silence after which the real receiver ends a member's stream (AfterSilence, real time): long
 * enough that a stalled event loop on a loaded machine does not split an utterance.
 */
export const SILENCE_MS = 1_500;

export interface Rig {
  fake: FakeDiscord;
  voice: FakeVoiceServer;
  history: Awaited<ReturnType<typeof openHistory>>;
  connects: string[];
  /** Every receiver.subscribe(userId) the session made on the real receiver. */
  subscribeCalls: string[];
  decoded: string[];
  started: Awaited<ReturnType<typeof startDiscordBot>>;
  /** The real voice connection of the last join. */
  connection(): VoiceConnection;
  advance(ms: number): void;
  slash(userId: string, name: string, options?: unknown[], permissions?: string): ReturnType<FakeDiscord['interaction']>;
  callback(i: { id: string; token: string }, from: number): Promise<RecordedCall>;
  original(i: { token: string }, from: number): Promise<RecordedCall>;
  /** Members send Opus silence until the bot has subscribed to each of `who` (packets before that are dropped, as on Discord). */
  untilSubscribed(who: string[], alsoTalking?: string[]): Promise<void>;
  /** Resolves when the session subscribes to this member on the real receiver (now or later). */
  subscribedTo(userId: string, timeoutMs?: number): Promise<void>;
  /** The bot's logger (silent unless LOG_LEVEL is set); tests may wrap it to count warnings. */
  logger: Logger;
  /** Resolves when the real receive stream of each member has ended (after SILENCE_MS without packets). */
  streamsEnded(who: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface RigOptions {
  engine?: EmotionEngine;
  msPerListenSecond?: number;
  reconnectGraceMs?: number;
  /** Replaces the bot's logger (e.g. to count warnings). */
  logger?: Logger;
  /** Set up the fake voice server before the bot starts (e.g. DAVE). */
  voice?: (voice: FakeVoiceServer, gateway: FakeDiscord) => void | Promise<void>;
  /** The voice channel denies Connect to @everyone (the bot included). */
  voiceDenied?: boolean;
  /** A second server (OTHER_GUILD, with a text channel) with the same members. */
  otherGuild?: boolean;
}

export async function rig(o: RigOptions = {}): Promise<Rig> {
  const engineOverride = o.engine;
  const msPerListenSecond = o.msPerListenSecond;
  const fake = await new FakeDiscord({
    token: TOKEN,
    guilds: [
      {
        id: GUILD,
        name: 'Voice Guild',
        ownerId: ALICE,
        channels: [
          { id: TEXT, name: 'general', type: 0 },
          {
            id: VOICE,
            name: 'Lounge',
            type: 2,
            ...(o.voiceDenied ? { permission_overwrites: [{ id: GUILD, type: 0 as const, allow: '0', deny: String(1n << 20n) }] } : {}),
          },
          { id: LOG, name: 'mod-log', type: 0 },
          { id: STAGE, name: 'Stage', type: 2 },
        ],
        members: [
          { id: ALICE, username: 'alice', global_name: 'Alice' },
          { id: BOB, username: 'bob', global_name: 'Bob' },
          { id: CAROL, username: 'carol', global_name: 'Carol' },
        ],
      },
      ...(o.otherGuild
        ? [
            {
              id: OTHER_GUILD,
              name: 'Other Guild',
              ownerId: BOB,
              channels: [{ id: OTHER_TEXT, name: 'elsewhere', type: 0 }],
              members: [
                { id: ALICE, username: 'alice', global_name: 'Alice' },
                { id: BOB, username: 'bob', global_name: 'Bob' },
              ],
            },
          ]
        : []),
    ],
  }).start();
  const voice = await new FakeVoiceServer().start();
  voice.attach(fake);
  await o.voice?.(voice, fake);
  const tiny = await tinyEngine();
  const engine = engineOverride ?? tiny;
  const dataDir = await mkdtemp(join(tmpdir(), 'vm-discord-voice-'));
  // Packets are pushed faster than real time: the test moves the clock on by itself.
  let now = Date.now();
  const clock = () => now;
  const history = await openHistory({ env: { VOICEMOOD_DATA_DIR: dataDir }, now: clock });
  const services: Services = {
    engine,
    history,
    settings: history,
    limiter: new TokenBucketLimiter({ clock }),
    moderation: new InMemoryModerationGate({ clock }),
    logger: o.logger ?? createLogger(process.env.LOG_LEVEL ? {} : { level: 'silent' }),
    clock,
  };
  const connects: string[] = [];
  const subscribeCalls: string[] = [];
  const subscribed = new EventEmitter<{ subscribe: [string] }>();
  const decoded: string[] = [];
  let connection: VoiceConnection | undefined;
  const started = await startDiscordBot(services, {
    token: TOKEN,
    env: { DISCORD_API_BASE: fake.apiBase, VOICEMOOD_DISCORD_CDN_HOSTS: fake.cdnHosts, DISCORD_GUILD_ID: GUILD },
    ...(msPerListenSecond ? { msPerListenSecond } : {}),
    ...(o.reconnectGraceMs ? { reconnectGraceMs: o.reconnectGraceMs } : {}),
    // The real connector (joinVoiceChannel), observed: which joins, and which subscriptions.
    connector: async (guild, channelId, options) => {
      connects.push(`${guild.id}/${channelId}`);
      const made = await defaultConnector(guild, channelId, options);
      const receiver = made.receiver;
      const subscribe = receiver.subscribe.bind(receiver);
      receiver.subscribe = (userId, opts) => {
        subscribeCalls.push(userId);
        const stream = subscribe(userId, opts);
        subscribed.emit('subscribe', userId);
        return stream;
      };
      connection = made.connection;
      return made;
    },
    session: {
      silenceMs: SILENCE_MS,
      createDecoder: (userId) => {
        decoded.push(userId);
        return new OpusDecoder(2);
      },
    },
  });
  const slash = (userId: string, name: string, options: unknown[] = [], permissions: string = PERMISSIONS.member) =>
    fake.interaction(GUILD, TEXT, userId, 2, { id: nextSnowflake(), name, type: 1, options }, { permissions });
  const callback = (i: { id: string; token: string }, from: number) =>
    fake.waitForCall((c) => c.seq >= from && c.path === `/interactions/${i.id}/${i.token}/callback`);
  const original = (i: { token: string }, from: number) =>
    fake.waitForCall((c) => c.seq >= from && c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${i.token}/messages/@original`);
  const current = (): VoiceConnection => {
    if (!connection) throw new Error('the bot has not joined a voice channel');
    return connection;
  };
  const silence = silencePackets(0.02)[0];
  const self: Rig = {
    fake,
    voice,
    history,
    connects,
    subscribeCalls,
    decoded,
    started,
    connection: current,
    logger: services.logger,
    subscribedTo(userId, timeoutMs = 20_000) {
      if (connection?.receiver.subscriptions.has(userId)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          subscribed.off('subscribe', on);
          reject(new Error(`the bot did not subscribe to ${userId} within ${timeoutMs} ms`));
        }, timeoutMs);
        const on = (id: string): void => {
          if (id !== userId) return;
          clearTimeout(timer);
          subscribed.off('subscribe', on);
          resolve();
        };
        subscribed.on('subscribe', on);
      });
    },
    advance: (ms) => void (now += ms),
    slash,
    callback,
    original,
    async untilSubscribed(who, alsoTalking = []) {
      // Bounded: 3000 frames is a minute of audio, far more than a consent lookup needs.
      for (let k = 0; k < 3000 && !who.every((id) => current().receiver.subscriptions.has(id)); k++) {
        for (const id of [...who, ...alsoTalking]) self.voice.sendFrame(id, self.voice.dave?.frame(id, silence) ?? silence);
        await new Promise<void>((resolve) => setTimeout(resolve, 5));
      }
      assert.ok(
        who.every((id) => current().receiver.subscriptions.has(id)),
        `subscribed to ${who.join(', ')}`,
      );
    },
    async streamsEnded(who) {
      await Promise.all(
        who.map((id) => {
          const s = current().receiver.subscriptions.get(id) as Readable | undefined;
          return s && !s.destroyed ? new Promise((resolve) => s.once('close', resolve)) : Promise.resolve();
        }),
      );
    },
    async close() {
      await started.stop();
      const leaks = fake.mentionLeaks();
      const writes = fake.messageWrites.length;
      await voice.close();
      await fake.close();
      await tiny.close();
      await history.close();
      await rm(dataDir, { recursive: true, force: true });
      // Announcements, summaries, alerts, button updates: none may ping anyone.
      assert.deepEqual(leaks, [], `every message the bot wrote has allowed_mentions.parse = [] (${writes} written)`);
    },
  };
  return self;
}
