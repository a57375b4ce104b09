/**
 * The shared services of one process, created once and handed to every bot: the emotion engine
 * (VOICEMOOD_MODEL; the first start pulls the default model, with progress on stderr), the history
 * store (KEYV_URL or the SQLite file under VOICEMOOD_DATA_DIR), the rate limiter, the moderation
 * gate, the logger and the clock. `close()` finishes the analyses in flight, then flushes history.
 */
import { numberFromEnv, readSecret, type Env } from './util/config.ts';
import { TokenBucketLimiter } from './state/rateLimit.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './usecases/requestDeadline.ts';
import type { ClaimStore, ModerationGate, RateLimiter, Services, SharedKv } from './usecases/ports.ts';
import type { HistoryStore } from './domain/history.ts';
import { openHistory } from './history/open.ts';
import { openEngine, type OpenEngineOptions } from './inference/engine.ts';
import { createMetrics, type Metrics } from './util/metrics.ts';
import { olderConverterNotice } from './inference/modelStore.ts';
import { createProgressReporter } from './cli/progress.ts';
import type { EmotionEngine } from './inference/types.ts';
import { InMemoryModerationGate } from './state/moderationGate.ts';
import { registerSecret, type Logger } from './util/log.ts';

export interface AppServices extends Services {
  /** The process's Prometheus registry and hooks (/metrics). */
  metrics: Metrics;
  /** Where history lives, in words without passwords (for the startup line). */
  historyBackend: string;
  /** Engine first (answers everything accepted), then history (flush, release). */
  close(): Promise<void>;
}

/** Rate-limit rules from the environment (defaults: 10 notes/min per user, 60 per chat). */
export function rateRulesFromEnv(env: Env): ConstructorParameters<typeof TokenBucketLimiter>[0] {
  const user = numberFromEnv(env, 'VOICEMOOD_RATE_USER_PER_MIN', 10, { min: 1, max: 100_000 });
  const chat = numberFromEnv(env, 'VOICEMOOD_RATE_CHAT_PER_MIN', 60, { min: 1, max: 100_000 });
  return { rules: { user: { capacity: user, perMinute: user }, chat: { capacity: chat, perMinute: chat } } };
}

/** Deadline of one voice request (download + decode + inference), VOICEMOOD_REQUEST_TIMEOUT_MS. */
export function requestTimeoutFromEnv(env: Env): number {
  return numberFromEnv(env, 'VOICEMOOD_REQUEST_TIMEOUT_MS', DEFAULT_REQUEST_TIMEOUT_MS, { min: 100, max: 3_600_000 });
}

/**
 * Queue mode (VOICEMOOD_QUEUE_URL set): no model here, analyses go to `voicemood worker`
 * processes through Redis (src/queue). Otherwise the in-process engine.
 */
export async function openQueueOrEngine(
  env: Env,
  logger: Logger,
  onProgress: OpenEngineOptions['onProgress'],
  model?: string,
  metrics?: Metrics,
): Promise<EmotionEngine> {
  const { queueUrlFromEnv, queueSettingsFromEnv } = await import('./queue/config.ts');
  const url = queueUrlFromEnv(env);
  if (!url) return openEngine({ env, onProgress, ...(model ? { model } : {}), ...(metrics ? { engine: { onBatch: (b) => metrics.inferenceBatch(b) } } : {}) });
  const { QueueEngine } = await import('./queue/queueEngine.ts');
  const engine = await QueueEngine.open({ settings: queueSettingsFromEnv(env, url), logger, ...(metrics ? { onJob: (r) => metrics.queueJob(r) } : {}) });
  metrics?.watchQueue(() => engine.stats());
  return engine;
}

/**
 * The Redis that several instances share state on: VOICEMOOD_QUEUE_URL, else KEYV_URL when it is
 * a Redis one; undefined when this process is on its own (state stays in memory).
 */
export function sharedRedisUrl(env: Env): string | undefined {
  const queue = readSecret(env, 'VOICEMOOD_QUEUE_URL')?.trim();
  if (queue) return queue;
  const keyv = readSecret(env, 'KEYV_URL')?.trim();
  return keyv && /^rediss?:\/\//i.test(keyv) ? keyv : undefined;
}

/** Rate limits, update claims and the moderation gate on the shared Redis (docs/scaling.md), when there is one. */
async function openSharedState(
  env: Env,
  logger: Logger,
  clock: () => number,
): Promise<{ limiter: RateLimiter; claims: ClaimStore; sharedKv: SharedKv; moderation: ModerationGate; close(): Promise<void> } | undefined> {
  const url = sharedRedisUrl(env);
  if (!url) return undefined;
  const [{ connected, redisConnection }, { RedisRateLimiter }, { RedisClaims, RedisSharedKv }, { RedisModerationGate }] = await Promise.all([
    import('./queue/config.ts'),
    import('./state/redisRateLimit.ts'),
    import('./state/redisClaims.ts'),
    import('./state/redisModerationGate.ts'),
  ]);
  registerSecret(url);
  const redis = redisConnection(url, 'state', { failFast: true });
  let warned = 0;
  redis.on('error', (e: unknown) => {
    if (Date.now() - warned > 60_000) logger.warn({ err: e }, 'shared state: Redis connection error (rate limits fall back to this process)');
    warned = Date.now();
  });
  try {
    await connected(redis, url);
  } catch (e) {
    redis.disconnect();
    throw e;
  }
  return {
    limiter: new RedisRateLimiter(redis, rateRulesFromEnv(env)),
    claims: new RedisClaims(redis, (e) => logger.warn({ err: e }, 'shared state: an update claim failed; handling it anyway')),
    moderation: new RedisModerationGate(redis, { clock }),
    sharedKv: new RedisSharedKv(redis),
    async close() {
      await redis.quit().catch(() => undefined);
    },
  };
}

export async function createServices(env: Env, logger: Logger, metrics: Metrics = createMetrics()): Promise<AppServices> {
  const clock = Date.now;
  const progress = createProgressReporter();
  let engine: EmotionEngine;
  try {
    engine = await openQueueOrEngine(env, logger, progress.handle, undefined, metrics);
  } finally {
    progress.stop();
  }
  let history: HistoryStore & { backend: string };
  try {
    history = await openHistory({ env, now: clock });
  } catch (e) {
    await engine.close();
    throw e;
  }
  const shared = await openSharedState(env, logger, clock).catch(async (e: unknown) => {
    await engine.close();
    await history.close();
    throw e;
  });
  logger.info({ model: engine.model.id, history: history.backend, sharedState: shared ? 'redis' : 'memory' }, 'services ready');
  const older = engine.model.path ? olderConverterNotice(engine.model) : undefined;
  if (older) logger.warn({ model: engine.model.path, converterVersion: engine.model.converterVersion }, older);
  return {
    engine,
    history,
    settings: history,
    limiter: shared?.limiter ?? new TokenBucketLimiter({ ...rateRulesFromEnv(env), clock }),
    ...(shared ? { claims: shared.claims, sharedKv: shared.sharedKv } : {}),
    moderation: shared?.moderation ?? new InMemoryModerationGate({ clock }),
    logger,
    clock,
    metrics,
    requestTimeoutMs: requestTimeoutFromEnv(env),
    historyBackend: history.backend,
    async close() {
      try {
        await engine.close();
      } finally {
        await history.close();
        await shared?.close();
        metrics.close();
      }
    },
  };
}
