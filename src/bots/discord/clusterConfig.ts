/**
 * Discord clustering settings, read from the environment without loading discord.js:
 * VOICEMOOD_DISCORD_CLUSTERS, VOICEMOOD_DISCORD_SHARDS_PER_CLUSTER, VOICEMOOD_DISCORD_SPAWN_DELAY_MS;
 * the shard plan; the history-store rule of cluster mode; and what a cluster process is told by
 * its manager (discord-hybrid-sharding's environment).
 */
import { readSecret, type Env } from '../../util/config.ts';
import { VoicemoodError } from '../../domain/errors.ts';

export interface DiscordClusterConfig {
  /** Cluster processes (VOICEMOOD_DISCORD_CLUSTERS, default 1 = no extra process). */
  clusters: number;
  /** Shards in each cluster, or 'auto': Discord's recommended total spread over the clusters (default). */
  shardsPerCluster: number | 'auto';
  /** Wait between starting two clusters, per shard (VOICEMOOD_DISCORD_SPAWN_DELAY_MS, default 7000: Discord allows one IDENTIFY per 5 s). */
  spawnDelayMs: number;
  /** How long a cluster may take to get ready (model load + login), default 120 s. */
  readyTimeoutMs: number;
  /** How long a stopping cluster may take to finish its analyses before it is killed, default 120 s. */
  stopTimeoutMs: number;
}

const MAX_CLUSTERS = 256;
const MAX_SHARDS_PER_CLUSTER = 64;

function integerFromEnv(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new VoicemoodError('bad_input', `${name}=${raw} is not a whole number from ${min} to ${max}.`);
  return n;
}

/** Reads and checks the clustering settings. Throws a VoicemoodError naming the bad variable. */
export function discordClusterConfig(env: Env): DiscordClusterConfig {
  const clusters = integerFromEnv(env, 'VOICEMOOD_DISCORD_CLUSTERS', 1, 1, MAX_CLUSTERS);
  const rawShards = env.VOICEMOOD_DISCORD_SHARDS_PER_CLUSTER?.trim().toLowerCase();
  const shardsPerCluster =
    !rawShards || rawShards === 'auto' ? 'auto' : integerFromEnv(env, 'VOICEMOOD_DISCORD_SHARDS_PER_CLUSTER', 1, 1, MAX_SHARDS_PER_CLUSTER);
  return {
    clusters,
    shardsPerCluster,
    spawnDelayMs: integerFromEnv(env, 'VOICEMOOD_DISCORD_SPAWN_DELAY_MS', 7000, 1, 600_000),
    readyTimeoutMs: 120_000,
    stopTimeoutMs: 120_000,
  };
}

/** True when Discord runs as a cluster manager with cluster processes (more than one cluster). */
export function usesClusters(config: DiscordClusterConfig): boolean {
  return config.clusters > 1;
}

/**
 * The total shard count and shards per cluster. With 'auto', Discord's recommendation (from
 * GET /gateway/bot) rounded up so that every cluster has the same number, at least one.
 */
export function planShards(
  config: Pick<DiscordClusterConfig, 'clusters' | 'shardsPerCluster'>,
  recommended?: number,
): { totalShards: number; shardsPerCluster: number } {
  let per: number;
  if (config.shardsPerCluster === 'auto') {
    if (recommended === undefined || !Number.isInteger(recommended) || recommended < 1)
      throw new VoicemoodError('internal', 'Discord did not say how many shards this bot needs (GET /gateway/bot).');
    per = Math.ceil(recommended / config.clusters);
  } else {
    per = config.shardsPerCluster;
  }
  return { totalShards: per * config.clusters, shardsPerCluster: per };
}

/** The shard of a guild: (guild_id >> 22) % totalShards, as Discord routes its events. */
export function shardOfGuild(guildId: string, totalShards: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(totalShards));
}

/** What a cluster process is told by its manager. */
export interface ClusterChildInfo {
  id: number;
  count: number;
  shardList: number[];
  totalShards: number;
}

/**
 * The cluster this process is, when a voicemood cluster manager forked it (discord-hybrid-sharding
 * passes the shard list in the environment and keeps an IPC channel open), else undefined.
 */
export function clusterChildInfo(env: Env, hasIpc = typeof process.send === 'function'): ClusterChildInfo | undefined {
  if (!hasIpc || env.CLUSTER_MANAGER_MODE !== 'process' || !/^\d+$/.test(env.CLUSTER ?? '')) return undefined;
  // The same variables as the library's getInfo() reads, parsed here without loading discord.js.
  const shardList = (env.SHARD_LIST ?? '').split(',').map(Number);
  const totalShards = Number(env.TOTAL_SHARDS);
  if (!Number.isInteger(totalShards) || totalShards < 1 || shardList.some((s) => !Number.isInteger(s) || s < 0 || s >= totalShards)) return undefined;
  return { id: Number(env.CLUSTER), count: Number(env.CLUSTER_COUNT), shardList, totalShards };
}

/**
 * Why several cluster processes cannot share the history store named by KEYV_URL, or undefined
 * when they can (Redis or Postgres). A SQLite file is owned by one process.
 */
export function sharedHistoryProblem(env: Env, clusters: number): string | undefined {
  const url = readSecret(env, 'KEYV_URL');
  const scheme = url ? url.slice(0, Math.max(0, url.indexOf(':'))).toLowerCase() : 'sqlite';
  if (['redis', 'rediss', 'postgres', 'postgresql'].includes(scheme)) return undefined;
  return `VOICEMOOD_DISCORD_CLUSTERS=${clusters} runs ${clusters} processes, and a SQLite history file belongs to one process: set KEYV_URL to redis://… or postgres://… (a store every process can share), or set VOICEMOOD_DISCORD_CLUSTERS=1.`;
}
