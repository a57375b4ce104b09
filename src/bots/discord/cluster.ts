/**
 * Discord clustering with discord-hybrid-sharding (settings in clusterConfig.ts): the manager forks
 * one process per cluster (each runs src/main.ts, which sees it is a cluster and starts only the
 * Discord bot for its shards), restarts them one at a time on request, and stops them gracefully.
 *
 * A guild's events come on shard (guild_id >> 22) % totalShards only, so everything about a guild
 * (its voice connection, its slash commands and buttons, its alerts) lives in the one cluster that
 * owns that shard; direct messages come on shard 0.
 */
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { REST, Routes, type Client } from 'discord.js';
import { ClusterClient, ClusterManager, type Cluster } from 'discord-hybrid-sharding';
import type { Env } from '../../util/config.ts';
import { VoicemoodError } from '../../domain/errors.ts';
import type { Logger } from '../../util/log.ts';
import { planShards, type DiscordClusterConfig } from './clusterConfig.ts';

/** Discord's recommended shard count (GET /gateway/bot, through DISCORD_API_BASE when set). */
export async function recommendedShards(token: string, apiBase?: string): Promise<number> {
  const rest = new REST(apiBase ? { api: apiBase } : {}).setToken(token);
  try {
    const info = (await rest.get(Routes.gatewayBot())) as { shards?: number };
    return Number(info.shards);
  } catch (e) {
    if ((e as { status?: number }).status === 401)
      throw new VoicemoodError('bad_input', 'Discord refused the token (DISCORD_TOKEN): check it in the Developer Portal → Bot → Reset Token.', { cause: e });
    throw new VoicemoodError('internal', 'Discord could not be asked how many shards this bot needs (GET /gateway/bot).', { cause: e });
  } finally {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
}

/** In a cluster process: tells the manager this cluster's Discord client is ready (and answers its evals). */
export function announceClusterReady(client: Client): ClusterClient<Client> {
  const cluster = new ClusterClient(client);
  cluster.triggerReady();
  return cluster;
}

export interface StartClustersOptions {
  token: string;
  env: Env;
  config: DiscordClusterConfig;
  /** The script each cluster runs (src/main.ts). */
  file: string;
  /** One line for the operator (stderr). */
  say: (line: string) => void;
  logger: Logger;
}

export interface StartedClusters {
  /** "2 clusters × 1 shard" and the like, for the startup line. */
  how: string;
  totalShards: number;
  /** Restarts one cluster at a time: stop it gracefully, start it again, wait until it is ready. */
  rollingRestart(): Promise<void>;
  /** Stops every cluster gracefully (each finishes its analyses and flushes history). */
  stop(): Promise<void>;
  /** Resolves with a reason when a cluster died and is not restarted (too many restarts). */
  failed: Promise<string>;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Forks the clusters and resolves once every one is ready (their Discord clients logged in). */
export async function startDiscordClusters(options: StartClustersOptions): Promise<StartedClusters> {
  const { config, say, logger, env } = options;
  const apiBase = env.DISCORD_API_BASE?.trim() || undefined;
  const recommended = config.shardsPerCluster === 'auto' ? await recommendedShards(options.token, apiBase) : undefined;
  const { totalShards, shardsPerCluster } = planShards(config, recommended);
  const manager = new ClusterManager(options.file, {
    token: options.token,
    totalShards,
    totalClusters: config.clusters,
    shardsPerClusters: shardsPerCluster,
    mode: 'process',
    // Respawning is turned on once every cluster is ready: a cluster that cannot start fails the start.
    respawn: false,
    restarts: { max: 3, interval: 3_600_000, current: 0 },
    execArgv: process.execArgv,
    // Own process groups: a Ctrl+C in the terminal reaches the manager only, which stops them in order.
    clusterOptions: { detached: true, clusterData: undefined },
    spawnOptions: { delay: config.spawnDelayMs, timeout: config.readyTimeoutMs },
  });
  let started = false;
  let stopping = false;
  /** Clusters being stopped or restarted on purpose: their exit is no failure. */
  const expected = new Set<number>();
  let fail: (reason: string) => void = () => {};
  const failed = new Promise<string>((resolve) => (fail = resolve));
  manager.on('debug', (line: string) => logger.debug({ hybridSharding: line }, 'cluster manager'));
  manager.on('clusterCreate', (cluster: Cluster) => {
    cluster.on('spawn', (proc) =>
      say(
        `Discord: cluster ${cluster.id} starting (pid ${(proc as ChildProcess | null | undefined)?.pid ?? '?'}, shards ${cluster.shardList.join(', ')} of ${totalShards})`,
      ),
    );
    cluster.on('death', () => {
      if (!started || stopping || expected.has(cluster.id)) return;
      // The library respawns it synchronously when it may; otherwise it stays down.
      setImmediate(() => {
        if (cluster.thread) say(`Discord: cluster ${cluster.id} exited unexpectedly; restarted.`);
        else fail(`cluster ${cluster.id} exited and was restarted too often (${manager.restarts.max} times an hour)`);
      });
    });
  });
  manager.on('clusterReady', (cluster: Cluster) =>
    say(`Discord: cluster ${cluster.id} ready (pid ${(cluster.thread?.process as ChildProcess | null | undefined)?.pid})`),
  );

  const stopCluster = async (cluster: Cluster): Promise<number | null> => {
    const proc = cluster.thread?.process as ChildProcess | null | undefined;
    expected.add(cluster.id);
    cluster.kill({ force: true, reason: 'stopping' }); // SIGTERM: the cluster finishes its analyses and flushes history
    return proc
      ? await exitOf(proc, config.stopTimeoutMs, () => say(`Discord: cluster ${cluster.id} did not stop within ${config.stopTimeoutMs / 1000} s; killed.`))
      : null;
  };

  try {
    await manager.spawn({ amount: totalShards, delay: config.spawnDelayMs, timeout: config.readyTimeoutMs });
  } catch (e) {
    stopping = true;
    await Promise.all([...manager.clusters.values()].map((c) => stopCluster(c)));
    throw new VoicemoodError('internal', `a Discord cluster did not get ready within ${config.readyTimeoutMs / 1000} s (see its lines above).`, { cause: e });
  }
  started = true;
  manager.respawn = true;

  let restarting: Promise<void> | undefined;
  return {
    how: `${plural(manager.clusters.size, 'cluster')} × ${plural(shardsPerCluster, 'shard')}`,
    totalShards,
    failed,
    rollingRestart() {
      restarting ??= (async () => {
        const clusters = [...manager.clusters.values()];
        say(`Discord: rolling restart of ${plural(clusters.length, 'cluster')}, one at a time.`);
        for (const [i, cluster] of clusters.entries()) {
          if (stopping) return;
          say(`Discord: rolling restart: stopping cluster ${cluster.id} (${i + 1}/${clusters.length})`);
          await stopCluster(cluster);
          if (stopping) return;
          expected.delete(cluster.id);
          await cluster.spawn(config.readyTimeoutMs);
          if (i < clusters.length - 1) await new Promise((r) => setTimeout(r, config.spawnDelayMs));
        }
        say('Discord: rolling restart done.');
      })()
        .catch((e: unknown) => {
          say(`Discord: rolling restart stopped: ${e instanceof Error ? e.message : String(e)}`);
          logger.error({ err: e }, 'rolling restart failed');
        })
        .finally(() => (restarting = undefined));
      return restarting;
    },
    async stop() {
      stopping = true;
      manager.respawn = false;
      manager.queue.stop();
      // A rolling restart under way stops at its next step (it checks `stopping`).
      const codes = await Promise.all([...manager.clusters.values()].map(async (c) => ({ id: c.id, code: await stopCluster(c) })));
      const bad = codes.filter((c) => c.code !== 0 && c.code !== null);
      if (bad.length > 0) throw new VoicemoodError('internal', `Discord cluster ${bad.map((c) => `${c.id} exited with code ${c.code}`).join(', ')}.`);
    },
  };
}

/** Resolves with the exit code once `proc` has exited; SIGKILLs it after `timeoutMs`. */
async function exitOf(proc: ChildProcess, timeoutMs: number, onKill: () => void): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  const timer = setTimeout(() => {
    onKill();
    proc.kill('SIGKILL');
  }, timeoutMs);
  try {
    const [code] = (await once(proc, 'exit')) as [number | null];
    return code;
  } finally {
    clearTimeout(timer);
  }
}
