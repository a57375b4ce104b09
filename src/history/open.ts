/**
 * Opens the history store from the environment:
 *   KEYV_URL unset          → SQLite file <VOICEMOOD_DATA_DIR>/history.sqlite (node:sqlite, WAL, synchronous=FULL)
 *   KEYV_URL=sqlite://PATH  → that SQLite file
 *   KEYV_URL=redis://…  / rediss://…       → @keyv/redis
 *   KEYV_URL=postgres://… / postgresql://… → @keyv/postgres
 * VOICEMOOD_RETENTION_DAYS (default 90) bounds how long entries are kept.
 * KEYV_URL may hold a password: it is read with readSecret (so KEYV_URL_FILE works) and redacted.
 */
import { join } from 'node:path';
import { Keyv, type KeyvStoreAdapter } from 'keyv';
import { dataDir, numberFromEnv, readSecret, type Env } from '../util/config.ts';
import { VoicemoodError } from '../domain/errors.ts';
import { redact, registerSecret } from '../util/log.ts';
import { KeyvHistoryStore, DEFAULT_RETENTION_DAYS } from './keyvHistoryStore.ts';
import { ensurePostgresTable, type PostgresAdapterLike } from './postgresTable.ts';
import { SqliteKeyvStore } from './sqliteKeyvStore.ts';
import type { HistoryStore } from '../domain/history.ts';
import type { KeyLock } from './keyedMutex.ts';

export const HISTORY_NAMESPACE = 'voicemood';
export const HISTORY_FILE = 'history.sqlite';
export const PRUNE_EVERY_MS = 6 * 3_600_000;

export interface OpenHistoryOptions {
  env?: Env;
  /** Overrides KEYV_URL. */
  url?: string;
  retentionDays?: number;
  now?: () => number;
  /** Background retention sweep interval (default 6 h; 0 = off). */
  pruneEveryMs?: number;
  /** How long a Postgres backend may take to become usable at start (default 15 s). */
  connectTimeoutMs?: number;
}

/** The backend in words, for the startup log (never with a password). */
export function describeHistoryBackend(env: Env = process.env): string {
  const url = env.KEYV_URL?.trim();
  if (!url) return `sqlite file ${join(dataDir(env), HISTORY_FILE)}`;
  registerSecret(url); // its password and secret query parameters, also when passed as options.url
  return redact(url);
}

export async function openHistory(options: OpenHistoryOptions = {}): Promise<HistoryStore & { backend: string }> {
  const env = options.env ?? process.env;
  const url = options.url ?? readSecret(env, 'KEYV_URL');
  const retentionDays = options.retentionDays ?? numberFromEnv(env, 'VOICEMOOD_RETENTION_DAYS', DEFAULT_RETENTION_DAYS, { min: 1, max: 36500 });
  const store = await storeFor(url, env, options.connectTimeoutMs);
  const keyv = new Keyv({ store, namespace: HISTORY_NAMESPACE, throwOnErrors: true });
  const lock = url && /^rediss?:\/\//i.test(url) ? await redisLock(url) : url && /^postgres(ql)?:\/\//i.test(url) ? await postgresLock(url) : undefined;
  const history = new KeyvHistoryStore(keyv, {
    retentionDays,
    pruneEveryMs: options.pruneEveryMs ?? PRUNE_EVERY_MS,
    ...(options.now ? { now: options.now } : {}),
    ...(lock ? { lock } : {}),
  });
  return Object.assign(history, { backend: describeHistoryBackend(url ? { ...env, KEYV_URL: url } : { ...env, KEYV_URL: undefined }) });
}

/** Writes on a Redis store hold Redis locks too: several processes may share it (docs/scaling.md). */
async function redisLock(url: string): Promise<KeyLock> {
  const [{ Redis }, { RedisKeyLock }] = await Promise.all([import('ioredis'), import('./redisKeyLock.ts')]);
  const redis = new Redis(url, { maxRetriesPerRequest: 3, connectionName: 'voicemood-history-lock' });
  redis.on('error', () => undefined); // a write that cannot lock fails with its own error
  return new RedisKeyLock(redis);
}

/** Writes on a Postgres store hold advisory locks too: several processes may share it (docs/scaling.md). */
async function postgresLock(url: string): Promise<KeyLock> {
  const { openPostgresKeyLock } = await import('./postgresKeyLock.ts');
  return openPostgresKeyLock(url);
}

async function storeFor(url: string | undefined, env: Env, connectTimeoutMs: number | undefined): Promise<KeyvStoreAdapter> {
  if (!url) return new SqliteKeyvStore(join(dataDir(env), HISTORY_FILE));
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  try {
    if (scheme === 'sqlite') return new SqliteKeyvStore(url.replace(/^sqlite:\/\//i, ''));
    if (scheme === 'redis' || scheme === 'rediss') {
      const { default: KeyvRedis } = await import('@keyv/redis');
      const store = new KeyvRedis(url, { throwOnErrors: true, throwOnConnectError: true, connectionTimeout: 10_000 });
      await store.getClient(); // connect now: a wrong URL fails at startup, not at the first note
      return store;
    }
    if (scheme === 'postgres' || scheme === 'postgresql') {
      const { default: KeyvPostgres } = await import('@keyv/postgres');
      const store = new KeyvPostgres({ uri: url });
      // Its own lazy CREATE TABLE may fail silently (server still starting): create it before use.
      await ensurePostgresTable(store as unknown as PostgresAdapterLike, connectTimeoutMs === undefined ? {} : { timeoutMs: connectTimeoutMs }).catch(
        async (e: unknown) => {
          await store.disconnect().catch(() => undefined);
          throw e;
        },
      );
      return store;
    }
  } catch (e) {
    // Names the host and port (never the password) so that the admin sees which server failed.
    throw new VoicemoodError('internal', `The history backend (${describeHistoryBackend({ ...env, KEYV_URL: url })}) cannot be reached.`, { cause: e });
  }
  throw new VoicemoodError('bad_input', `KEYV_URL must start with redis://, rediss://, postgres:// or sqlite:// (got "${scheme}:").`);
}
