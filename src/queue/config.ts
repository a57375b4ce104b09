/**
 * Queue mode's settings (docs/scaling.md): VOICEMOOD_QUEUE_URL names the Redis that carries the
 * analysis jobs (redis://host:port[/db], rediss:// for TLS); the rest tune the queue. Shared by
 * the gateway side (queueEngine.ts) and the worker (worker.ts), so both agree on names and keys.
 */
import { Redis } from 'ioredis';
import { numberFromEnv, readSecret, type Env } from '../util/config.ts';
import { VoicemoodError } from '../domain/errors.ts';
import { redact, registerSecret } from '../util/log.ts';

/** The BullMQ queue every gateway adds to and every worker takes from. */
export const QUEUE_NAME = 'voicemood-analyze';
/** Redis key prefix of everything voicemood keeps besides BullMQ's own keys. */
export const KEY_PREFIX = 'voicemood:';
/** Where workers publish the model they run (JSON ModelInfo). */
export const MODEL_KEY = `${KEY_PREFIX}model`;
export const pcmKey = (jobId: string): string => `${KEY_PREFIX}pcm:${jobId}`;
export const resultKey = (jobId: string): string => `${KEY_PREFIX}result:${jobId}`;

export interface QueueSettings {
  url: string;
  /** Jobs waiting or running (all gateways together) past which a gateway answers 'busy' (default 256). */
  maxDepth: number;
  /** Attempts per job, the first included (default 3). */
  attempts: number;
  /** First retry delay in ms, doubled per attempt (default 500). */
  backoffMs: number;
  /** Seconds the audio and a result may stay in Redis unclaimed (default 300). */
  ttlS: number;
  /** Worker lock duration in ms: a worker that has not renewed its lock this long is taken as dead (default 30 000). */
  lockMs: number;
  /** How often a worker looks for stalled jobs, ms (default 15 000). */
  stalledMs: number;
}

/** The queue URL from the environment (VOICEMOOD_QUEUE_URL or _FILE), or undefined: in-process mode. */
export function queueUrlFromEnv(env: Env): string | undefined {
  const url = readSecret(env, 'VOICEMOOD_QUEUE_URL')?.trim();
  if (!url) return undefined;
  if (!/^rediss?:\/\//i.test(url))
    throw new VoicemoodError('bad_input', `VOICEMOOD_QUEUE_URL must start with redis:// or rediss:// (got "${redact(url.slice(0, 12))}…").`);
  registerSecret(url);
  return url;
}

export function queueSettingsFromEnv(env: Env, url: string): QueueSettings {
  return {
    url,
    maxDepth: numberFromEnv(env, 'VOICEMOOD_QUEUE_MAX', 256, { min: 1, max: 1_000_000 }),
    attempts: numberFromEnv(env, 'VOICEMOOD_QUEUE_ATTEMPTS', 3, { min: 1, max: 20 }),
    backoffMs: numberFromEnv(env, 'VOICEMOOD_QUEUE_BACKOFF_MS', 500, { min: 0, max: 600_000 }),
    ttlS: numberFromEnv(env, 'VOICEMOOD_QUEUE_TTL_S', 300, { min: 5, max: 86_400 }),
    lockMs: numberFromEnv(env, 'VOICEMOOD_QUEUE_LOCK_MS', 30_000, { min: 500, max: 3_600_000 }),
    stalledMs: numberFromEnv(env, 'VOICEMOOD_QUEUE_STALLED_MS', 15_000, { min: 200, max: 3_600_000 }),
  };
}

/**
 * A Redis connection. For BullMQ (default) commands wait for a reconnect instead of failing
 * (maxRetriesPerRequest: null); `failFast` ones (shared state: rate limits, claims) fail at once
 * while Redis is down, so that callers can fall back. `what` names it in Redis's CLIENT LIST.
 */
export function redisConnection(url: string, what: string, options: { failFast?: boolean } = {}): Redis {
  return options.failFast
    ? new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectionName: `voicemood-${what}` })
    : new Redis(url, { maxRetriesPerRequest: null, connectionName: `voicemood-${what}` });
}

/** Waits until a connection is ready, or fails with a sentence naming the server (never its password). */
export async function connected(redis: Redis, url: string, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new VoicemoodError('internal', `Redis at ${redact(url)} cannot be reached.`)), timeoutMs);
    const onReady = (): void => done();
    const done = (err?: Error): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      if (err) reject(err);
      else resolve();
    };
    redis.once('ready', onReady);
  });
}
