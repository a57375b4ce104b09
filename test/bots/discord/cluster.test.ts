/**
 * Discord clustering: the settings and shard plan, and `node src/main.ts` as a real cluster
 * manager (2 clusters × 1 shard, discord-hybrid-sharding) against the shard-aware fake Discord
 * with two guilds on different shards and history on a real redis-server: each guild is served by
 * its own cluster exactly once, history is shared, SIGTERM stops everything with exit 0, and
 * SIGHUP restarts one cluster at a time while the other keeps answering.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { shardIdForGuildId } from 'discord-hybrid-sharding';
import {
  clusterChildInfo,
  discordClusterConfig,
  planShards,
  sharedHistoryProblem,
  shardOfGuild,
  usesClusters,
} from '../../../src/bots/discord/clusterConfig.ts';
import { FakeDiscord, shardOf, type RecordedCall } from '../../fakes/discord/server.ts';
import { freePort } from '../../helpers/net.ts';
import { skipWithoutRedis, startRedis, type TestRedis } from '../../helpers/redis.ts';
import { makeWorkspace, spawnBot, TOKEN as TG_TOKEN, type BotProcess, type Workspace } from '../telegram/harness.ts';
import { planBots, type BotPlan } from '../../../src/main.ts';
import { FIXTURES } from './voiceHarness.ts';

const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDAx.fake.discordTOKENforCLUSTERtest';
// Two guilds on different shards of 2: (id >> 22) % 2 is 0 for A and 1 for B.
const GUILD_A = String((24_000_000_000n << 22n) | 17n);
const GUILD_B = String((24_000_000_001n << 22n) | 17n);
const TEXT_A = '310000000000000001';
const TEXT_B = '320000000000000001';
const ALICE = '200000000000000011';
const BOB = '200000000000000012';

test('settings: defaults are one process with Discord’s recommended shard count; bad values are named', () => {
  const d = discordClusterConfig({});
  assert.equal(d.clusters, 1);
  assert.equal(d.shardsPerCluster, 'auto');
  assert.equal(usesClusters(d), false);
  const c = discordClusterConfig({ VOICEMOOD_DISCORD_CLUSTERS: '3', VOICEMOOD_DISCORD_SHARDS_PER_CLUSTER: '2', VOICEMOOD_DISCORD_SPAWN_DELAY_MS: '100' });
  assert.deepEqual([c.clusters, c.shardsPerCluster, c.spawnDelayMs, usesClusters(c)], [3, 2, 100, true]);
  assert.throws(() => discordClusterConfig({ VOICEMOOD_DISCORD_CLUSTERS: '0' }), /VOICEMOOD_DISCORD_CLUSTERS=0 is not a whole number from 1/);
  assert.throws(() => discordClusterConfig({ VOICEMOOD_DISCORD_CLUSTERS: '1.5' }), /VOICEMOOD_DISCORD_CLUSTERS=1\.5/);
  assert.throws(() => discordClusterConfig({ VOICEMOOD_DISCORD_SHARDS_PER_CLUSTER: 'many' }), /VOICEMOOD_DISCORD_SHARDS_PER_CLUSTER=many/);
});

test('shard plan: a fixed count per cluster, or Discord’s recommendation spread evenly (at least one each)', () => {
  assert.deepEqual(planShards({ clusters: 2, shardsPerCluster: 3 }), { totalShards: 6, shardsPerCluster: 3 });
  assert.deepEqual(planShards({ clusters: 2, shardsPerCluster: 'auto' }, 1), { totalShards: 2, shardsPerCluster: 1 });
  assert.deepEqual(planShards({ clusters: 4, shardsPerCluster: 'auto' }, 5), { totalShards: 8, shardsPerCluster: 2 });
  assert.throws(() => planShards({ clusters: 2, shardsPerCluster: 'auto' }, Number.NaN), /did not say how many shards/);
});

test('guild → shard is Discord’s rule, the same as the library’s and the fake’s', () => {
  for (const id of [GUILD_A, GUILD_B, '81384788765712384', '1300000000000000123']) {
    for (const total of [1, 2, 3, 16]) {
      assert.equal(shardOfGuild(id, total), shardIdForGuildId(id, total));
      assert.equal(shardOf(id, total), shardIdForGuildId(id, total));
    }
  }
  assert.deepEqual([shardOfGuild(GUILD_A, 2), shardOfGuild(GUILD_B, 2)], [0, 1]);
});

test('a cluster process is recognised from the manager’s environment and IPC channel only', () => {
  const env = { CLUSTER_MANAGER_MODE: 'process', CLUSTER: '1', CLUSTER_COUNT: '2', SHARD_LIST: '2,3', TOTAL_SHARDS: '4' };
  assert.deepEqual(clusterChildInfo(env, true), { id: 1, count: 2, shardList: [2, 3], totalShards: 4 });
  assert.equal(clusterChildInfo(env, false), undefined, 'no IPC channel: not forked by a manager');
  // The manager sets CLUSTER=undefined in its own environment.
  assert.equal(clusterChildInfo({ ...env, CLUSTER: 'undefined' }, true), undefined);
  assert.equal(clusterChildInfo({ ...env, SHARD_LIST: '4' }, true), undefined);
});

test('cluster mode needs a history store every process can share', () => {
  assert.match(sharedHistoryProblem({}, 2)!, /SQLite history file belongs to one process: set KEYV_URL to redis:\/\/… or postgres:\/\//);
  assert.match(sharedHistoryProblem({ KEYV_URL: 'sqlite:///tmp/h.sqlite' }, 2)!, /VOICEMOOD_DISCORD_CLUSTERS=2/);
  assert.equal(sharedHistoryProblem({ KEYV_URL: 'redis://127.0.0.1:6379' }, 2), undefined);
  assert.equal(sharedHistoryProblem({ KEYV_URL: 'postgresql://u:p@db/voicemood' }, 2), undefined);
});

test('a cluster process plans Discord only (Telegram stays in the manager); the manager runs the clusters without services of its own', () => {
  const env = { TELEGRAM_BOT_TOKEN: TG_TOKEN, DISCORD_TOKEN: TOKEN, KEYV_URL: 'redis://127.0.0.1:1', VOICEMOOD_DISCORD_CLUSTERS: '2' };
  const kinds = (plans: BotPlan[]) => plans.map((p) => `${p.name} ${'reason' in p ? 'reason' : 'start' in p ? 'start' : 'startAlone'}`);
  assert.deepEqual(kinds(planBots(env, { id: 1, count: 2, shardList: [1], totalShards: 2 })), ['Discord start']);
  assert.deepEqual(kinds(planBots(env, undefined)), ['Telegram start', 'Discord startAlone']);
  assert.deepEqual(kinds(planBots({ ...env, VOICEMOOD_DISCORD_CLUSTERS: '1' }, undefined)), ['Telegram start', 'Discord start']);
  assert.deepEqual(kinds(planBots({ ...env, KEYV_URL: '' }, undefined)), ['Telegram start', 'Discord reason']);
});

// ---- the real processes -----------------------------------------------------------------------

// Fails rather than skips in CI (CI=true), where scripts/setup.sh installs redis-server.
const skip = skipWithoutRedis;
let ws: Workspace;
let redis: TestRedis | undefined;
let redisUrl = '';
let voiceBytes: Uint8Array;

before(async () => {
  ws = await makeWorkspace();
  voiceBytes = new Uint8Array(await readFile(new URL('voice-message.ogg', FIXTURES)));
  if (skip) return;
  redis = await startRedis();
  redisUrl = redis.url;
});

after(() => {
  redis?.stop();
  ws?.cleanup();
});

function fakeDiscord(recommendedShards = 1): FakeDiscord {
  const member = (id: string, name: string) => ({ id, username: name, global_name: name });
  return new FakeDiscord({
    token: TOKEN,
    shards: recommendedShards,
    guilds: [
      {
        id: GUILD_A,
        name: 'Guild A',
        ownerId: ALICE,
        channels: [{ id: TEXT_A, name: 'general', type: 0 }],
        members: [member(ALICE, 'alice'), member(BOB, 'bob')],
      },
      {
        id: GUILD_B,
        name: 'Guild B',
        ownerId: BOB,
        channels: [{ id: TEXT_B, name: 'general', type: 0 }],
        members: [member(ALICE, 'alice'), member(BOB, 'bob')],
      },
    ],
  });
}

function botEnv(fake: FakeDiscord, extra: Record<string, string>): Record<string, string> {
  return {
    DISCORD_TOKEN: TOKEN,
    DISCORD_API_BASE: fake.apiBase,
    VOICEMOOD_DISCORD_CDN_HOSTS: fake.cdnHosts,
    VOICEMOOD_MODEL: ws.modelPath,
    VOICEMOOD_DATA_DIR: ws.dataDir,
    VOICEMOOD_ENGINE_THREADS: '1',
    ...extra,
  };
}

/** Each test its own Redis database, so that one's history does not show in another's. */
/** The web app is off: with it on, the manager opens an engine for the page and API. */
const clusterEnv = (db: number): Record<string, string> => ({
  KEYV_URL: `${redisUrl}/${db}`,
  VOICEMOOD_DISCORD_CLUSTERS: '2',
  VOICEMOOD_DISCORD_SPAWN_DELAY_MS: '100',
  VOICEMOOD_WEB: 'off',
});

/** Posts a voice message and resolves with the card the bot posted in reply. */
async function voiceNote(fake: FakeDiscord, guild: string, channel: string, author: string): Promise<RecordedCall> {
  const at = fake.calls.length;
  const attachment = fake.addAttachment('voice-message.ogg', voiceBytes, 'audio/ogg', { duration_secs: 2.8, waveform: 'AAAA' });
  fake.dispatch('MESSAGE_CREATE', fake.message(guild, channel, author, { attachments: [attachment], flags: 1 << 13 }));
  return fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && c.path === `/channels/${channel}/messages` && c.body?.embeds?.length > 0, 60_000);
}

/** Runs /me in a guild and resolves with its interaction id and the answer's text. */
async function slashMe(fake: FakeDiscord, guild: string, channel: string, user: string): Promise<{ id: string; content: string }> {
  const i = fake.interaction(guild, channel, user, 2, { id: '1', name: 'me', type: 1, options: [] });
  fake.dispatch('INTERACTION_CREATE', i);
  const edit = await fake.waitForCall((c) => c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${i.token}/messages/@original`, 60_000);
  return { id: i.id, content: String(edit.body?.content ?? '') };
}

const callbacksOf = (fake: FakeDiscord, interactionId: string): number => fake.calls.filter((c) => c.path.startsWith(`/interactions/${interactionId}/`)).length;
const cardsIn = (fake: FakeDiscord, channel: string): number =>
  fake.calls.filter((c) => c.method === 'POST' && c.path === `/channels/${channel}/messages` && c.body?.embeds?.length > 0).length;

async function startClusters(fake: FakeDiscord, db: number, extra: Record<string, string> = {}): Promise<BotProcess> {
  return await spawnBot(botEnv(fake, { ...clusterEnv(db), ...extra }), { waitFor: /voicemood: Discord: started/, timeoutMs: 90_000 });
}

test(
  '2 clusters × 1 shard: each guild is served by its own cluster exactly once, history is shared, SIGTERM exits 0',
  { skip, timeout: 120_000 },
  async (t) => {
    const fake = await fakeDiscord().start();
    t.after(() => fake.close());
    const bot = await startClusters(fake, 1, { VOICEMOOD_DISCORD_SHARDS_PER_CLUSTER: '1' });
    t.after(() => bot.stop('SIGKILL'));
    const out0 = bot.output();
    assert.match(out0, /voicemood: Discord: started \(2 clusters × 1 shard, 2 shards in all; SIGHUP to pid \d+ restarts them one at a time\)/);
    assert.match(out0, /each of the 2 clusters opens its own engine/);
    assert.doesNotMatch(out0, /^voicemood: model:/m, 'the manager loads no model (no Telegram, no web app)');
    assert.match(out0, /voicemood\[cluster 0\]: Discord: started \(voicemood, cluster 0 of 2, shards 0 of 2\)/);
    assert.match(out0, /voicemood\[cluster 1\]: Discord: started \(voicemood, cluster 1 of 2, shards 1 of 2\)/);
    // Two gateway connections, one per shard, each sent its own guild only.
    assert.deepEqual(fake.shardEvents.map((e) => `${e.kind} ${e.shard}/${e.total}`).sort(), ['identify 0/2', 'identify 1/2']);
    const ready = out0
      .split('\n')
      .filter((l) => l.includes('"discord bot ready"'))
      .map((l) => JSON.parse(l) as { cluster: number; guilds: number; shards: number[] });
    assert.deepEqual(ready.map((r) => [r.cluster, r.guilds, r.shards]).sort(), [
      [0, 1, [0]],
      [1, 1, [1]],
    ]);
    const puts = fake.calls.filter((c) => c.method === 'PUT' && c.path.endsWith('/commands'));
    assert.equal(puts.length, 1, 'cluster 0 alone registers the slash commands');

    const [cardA, cardB] = await Promise.all([voiceNote(fake, GUILD_A, TEXT_A, ALICE), voiceNote(fake, GUILD_B, TEXT_B, BOB)]);
    assert.ok(cardA.body.embeds[0].title && cardB.body.embeds[0].title);
    // Alice's note (guild A, cluster 0) is seen by /me in guild B (cluster 1), and Bob's the other way.
    const [meB, meA] = await Promise.all([slashMe(fake, GUILD_B, TEXT_B, ALICE), slashMe(fake, GUILD_A, TEXT_A, BOB)]);
    assert.match(meB.content, /Your last 1 voice note/);
    assert.match(meA.content, /Your last 1 voice note/);

    assert.equal(await withDeadline(bot.stop('SIGTERM'), 60_000, () => `no exit after SIGTERM; output:\n${bot.output()}`), 0);
    const out = bot.output();
    assert.match(out, /voicemood\[cluster 0\]: Discord: stopped/);
    assert.match(out, /voicemood\[cluster 1\]: Discord: stopped/);
    assert.match(out, /voicemood: Discord: stopped\n[^]*voicemood: bye\./);
    // Counted after everything stopped: nothing was answered twice.
    assert.equal(cardsIn(fake, TEXT_A), 1);
    assert.equal(cardsIn(fake, TEXT_B), 1);
    assert.equal(callbacksOf(fake, meA.id), 1);
    assert.equal(callbacksOf(fake, meB.id), 1);
    assert.equal(fake.invalidBodies.length, 0);
    assert.ok(!out.includes(TOKEN), 'the token leaked');
  },
);

test('SIGHUP: a rolling restart moves one cluster at a time, and the other keeps answering meanwhile', { skip, timeout: 150_000 }, async (t) => {
  // Shards 'auto' (the default): the fake recommends 2, one for each cluster.
  const fake = await fakeDiscord(2).start();
  t.after(() => fake.close());
  const bot = await startClusters(fake, 2);
  t.after(() => bot.stop('SIGKILL'));
  const within = <T>(p: Promise<T>, what: string): Promise<T> =>
    withDeadline(p, 60_000, () => `${what}; shard events ${JSON.stringify(fake.shardEvents)}; output:\n${bot.output()}`);
  assert.match(bot.output(), /Discord: started \(2 clusters × 1 shard, 2 shards in all/);
  const base = fake.shardEvents.length;
  const after =
    (kind: 'identify' | 'close', shard: number, from = base) =>
    (e: { kind: string; shard: number }, i: number) =>
      i >= from && e.kind === kind && e.shard === shard;

  // Cluster 0 goes first; its new IDENTIFY is held, so that it is surely down while we ask cluster 1.
  const hold0 = fake.holdIdentify(0);
  bot.proc.kill('SIGHUP');
  const closed0 = await fake.waitForShardEvent(after('close', 0));
  await within(hold0.identified, 'the new cluster 0 did not identify');
  const meB = await slashMe(fake, GUILD_B, TEXT_B, BOB);
  assert.match(meB.content, /I have no voice notes of yours yet/);
  assert.ok(!fake.shardEvents.some(after('close', 1)), 'cluster 1 was not stopped while cluster 0 was down');

  // Then cluster 1, only once cluster 0 is back; cluster 0 answers meanwhile.
  const hold1 = fake.holdIdentify(1);
  hold0.release();
  const back0 = await fake.waitForShardEvent(after('identify', 0, closed0));
  const closed1 = await fake.waitForShardEvent(after('close', 1));
  assert.ok(back0 < closed1, `cluster 0 was back before cluster 1 stopped: ${JSON.stringify(fake.shardEvents)}`);
  await within(hold1.identified, 'the new cluster 1 did not identify');
  const meA = await slashMe(fake, GUILD_A, TEXT_A, ALICE);
  assert.match(meA.content, /I have no voice notes of yours yet/);
  hold1.release();
  await fake.waitForShardEvent(after('identify', 1, closed1));
  await waitForOutput(bot, /voicemood: Discord: rolling restart done\./);

  // Both new clusters work.
  await Promise.all([voiceNote(fake, GUILD_A, TEXT_A, ALICE), voiceNote(fake, GUILD_B, TEXT_B, BOB)]);
  assert.equal(await within(bot.stop('SIGTERM'), 'the manager did not exit after SIGTERM'), 0);
  assert.equal(cardsIn(fake, TEXT_A), 1);
  assert.equal(cardsIn(fake, TEXT_B), 1);
  assert.equal(callbacksOf(fake, meA.id), 1);
  assert.equal(callbacksOf(fake, meB.id), 1);
  assert.match(bot.output(), /rolling restart: stopping cluster 0 \(1\/2\)[^]*rolling restart: stopping cluster 1 \(2\/2\)/);
});

test('a cluster killed with SIGKILL is restarted; the manager killed with SIGKILL leaves no cluster behind', { skip, timeout: 120_000 }, async (t) => {
  const fake = await fakeDiscord().start();
  t.after(() => fake.close());
  const bot = await startClusters(fake, 3, { VOICEMOOD_DISCORD_SHARDS_PER_CLUSTER: '1' });
  t.after(() => bot.stop('SIGKILL'));
  const pids = (): Map<number, number> =>
    new Map([...bot.output().matchAll(/voicemood: Discord: cluster (\d+) ready \(pid (\d+)\)/g)].map((m) => [Number(m[1]), Number(m[2])]));
  const first = pids();
  assert.equal(first.size, 2);
  const base = fake.shardEvents.length;
  process.kill(first.get(1)!, 'SIGKILL');
  const closed = await fake.waitForShardEvent((e, i) => i >= base && e.kind === 'close' && e.shard === 1);
  await fake.waitForShardEvent((e, i) => i > closed && e.kind === 'identify' && e.shard === 1);
  await waitForOutput(bot, /voicemood: Discord: cluster 1 exited unexpectedly; restarted\.[^]*cluster 1 ready/);
  assert.ok(!fake.shardEvents.slice(base).some((e) => e.shard === 0), 'cluster 0 was left alone');
  await voiceNote(fake, GUILD_B, TEXT_B, BOB);

  const now = pids();
  assert.notEqual(now.get(1), first.get(1));
  const before = fake.shardEvents.length;
  bot.proc.kill('SIGKILL');
  // Each cluster notices that its manager went away, stops and exits.
  await fake.waitForShardEvent((e, i) => i >= before && e.kind === 'close' && e.shard === 0);
  await fake.waitForShardEvent((e, i) => i >= before && e.kind === 'close' && e.shard === 1);
  for (const pid of now.values()) await withDeadline(exitedPid(pid), 30_000, () => `cluster pid ${pid} still runs after its manager was killed`);
});

test(
  'the manager ignores SIGHUP during start-up, and killed then leaves no cluster behind (not even one waiting for Discord)',
  { skip, timeout: 90_000 },
  async (t) => {
    const fake = await fakeDiscord().start();
    t.after(() => fake.close());
    const hold = fake.holdIdentify(1);
    t.after(() => hold.release());
    const bot = await spawnBot(botEnv(fake, { ...clusterEnv(4), VOICEMOOD_DISCORD_SHARDS_PER_CLUSTER: '1' }));
    t.after(() => bot.stop('SIGKILL'));
    await withDeadline(hold.identified, 60_000, () => `cluster 1 did not identify; output:\n${bot.output()}`);
    const pids = [...bot.output().matchAll(/voicemood: Discord: cluster \d+ starting \(pid (\d+)/g)].map((m) => Number(m[1]));
    assert.equal(pids.length, 2);
    assert.doesNotMatch(bot.output(), /voicemood: Discord: started/);
    // A SIGHUP this early (nothing to restart yet) must not take its default action, exit.
    bot.proc.kill('SIGHUP');
    await waitForOutput(bot, /voicemood: SIGHUP during start-up: ignored\./);
    assert.equal(bot.proc.exitCode, null);
    bot.proc.kill('SIGKILL');
    for (const pid of pids)
      await withDeadline(exitedPid(pid), 30_000, () => `cluster pid ${pid} still runs after its manager was killed; output:\n${bot.output()}`);
  },
);

test('2 clusters with the SQLite history file: Discord is refused with a sentence saying what to set', async (t) => {
  const fake = await fakeDiscord().start();
  t.after(() => fake.close());
  const bot = await spawnBot(botEnv(fake, { VOICEMOOD_DISCORD_CLUSTERS: '2' }));
  assert.equal(await bot.exited, 2);
  assert.match(
    bot.output(),
    /Discord: not started, VOICEMOOD_DISCORD_CLUSTERS=2 runs 2 processes, and a SQLite history file belongs to one process: set KEYV_URL to redis:\/\/… or postgres:\/\//,
  );
  assert.equal(fake.shardEvents.length, 0);
});

test('defaults (one process, shards auto): the fake recommends 2 shards and both run in the one process', { timeout: 90_000 }, async (t) => {
  const fake = await fakeDiscord(2).start();
  t.after(() => fake.close());
  const bot = await spawnBot(botEnv(fake, {}), { waitFor: /voicemood: Discord: started/, timeoutMs: 60_000 });
  t.after(() => bot.stop('SIGKILL'));
  assert.deepEqual(fake.shardEvents.map((e) => `${e.kind} ${e.shard}/${e.total}`).sort(), ['identify 0/2', 'identify 1/2']);
  assert.doesNotMatch(bot.output(), /cluster/);
  await Promise.all([voiceNote(fake, GUILD_A, TEXT_A, ALICE), voiceNote(fake, GUILD_B, TEXT_B, BOB)]);
  assert.equal(await bot.stop('SIGTERM'), 0);
  assert.equal(cardsIn(fake, TEXT_A), 1);
  assert.equal(cardsIn(fake, TEXT_B), 1);
});

/** Resolves once no process has this pid (not our child: nothing to wait on but its absence). */
async function exitedPid(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `p`, or a rejection saying `what()` once `ms` have passed. */
async function withDeadline<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the process has printed a line matching `re` (waits on its output, not a clock). */
async function waitForOutput(bot: BotProcess, re: RegExp, timeoutMs = 60_000): Promise<void> {
  if (re.test(bot.output())) return;
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (!re.test(bot.output())) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${re} in time; output:\n${bot.output()}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      bot.proc.stderr!.off('data', check);
    };
    // Registered after the harness's own listener, so output() already holds the chunk.
    bot.proc.stderr!.on('data', check);
  });
}

test(
  '2 clusters with the web app on: the manager serves the page and API (one engine for it), no cluster process binds a port',
  { skip, timeout: 120_000 },
  async (t) => {
    const fake = await fakeDiscord().start();
    t.after(() => fake.close());
    const port = await freePort();
    const bot = await startClusters(fake, 5, { VOICEMOOD_DISCORD_SHARDS_PER_CLUSTER: '1', VOICEMOOD_WEB: 'on', PORT: String(port) });
    t.after(() => bot.stop('SIGKILL'));
    await waitForOutput(bot, /voicemood: web: started \(http:\/\/127\.0\.0\.1:\d+\)/);
    const out = bot.output();
    assert.match(out, /^voicemood: model:/m, 'the manager opens an engine for the web app');
    assert.doesNotMatch(out, /voicemood\[cluster \d\]: web:/, 'cluster processes serve no web app');
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    await voiceNote(fake, GUILD_B, TEXT_B, BOB);
    assert.equal(await bot.stop('SIGTERM'), 0);
    assert.match(bot.output(), /voicemood: web: stopped/);
  },
);
