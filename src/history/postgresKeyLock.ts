/**
 * The history store's key lock across processes, for a store on Postgres (several gateways on one
 * KEYV_URL=postgres://…): every read-modify-write holds, besides the in-process KeyedMutex, a
 * Postgres session advisory lock per key (pg_advisory_lock on a 64-bit id derived from the key),
 * taken on a client of a small pool of its own and held while the store reads and writes the keys
 * through keyv. keyv exposes no transaction, so a lock beside the keyv queries is what fits.
 *
 * Ids are taken in ascending order (no deadlock between processes); a wait is bounded by the
 * session's lock_timeout (`waitMs`), after which the write fails with a typed "busy" error. On every
 * path the client runs pg_advisory_unlock_all() and goes back to the pool; if that fails, the client
 * is destroyed, and Postgres drops the locks of a closed session by itself (so does a holder that
 * dies: no lock outlives its process).
 */
import { createHash } from 'node:crypto';
import { VoicemoodError } from '../domain/errors.ts';
import { KeyedMutex, type KeyLock } from './keyedMutex.ts';

/** The part of a `pg` pool client this module uses. */
export interface PgClientLike {
  query(sql: string, values?: unknown[]): Promise<unknown>;
  release(destroy?: boolean | Error): void;
  on(event: 'error', listener: (e: Error) => void): unknown;
  off(event: 'error', listener: (e: Error) => void): unknown;
}
/** The part of a `pg` Pool this module uses. */
export interface PgPoolLike {
  connect(): Promise<PgClientLike>;
  end(): Promise<void>;
  on(event: 'error', listener: (e: Error) => void): unknown;
}

export interface PostgresKeyLockOptions {
  /** Longest wait for a lock before the write fails (default 10 s). Set as the pool's lock_timeout. */
  waitMs?: number;
}

/** The advisory-lock id of a key: 64 bits of SHA-256 of a namespaced key, as a signed bigint (text). */
export function advisoryLockId(key: string): bigint {
  return createHash('sha256').update(`voicemood:history:${key}`).digest().readBigInt64BE(0);
}

const LOCK_NOT_AVAILABLE = '55P03';

export class PostgresKeyLock implements KeyLock {
  readonly #pool: PgPoolLike;
  readonly #local = new KeyedMutex();
  readonly #waitMs: number;

  /** `pool` should be configured with lock_timeout = waitMs and connectionTimeoutMillis (see openPostgresKeyLock). */
  constructor(pool: PgPoolLike, options: PostgresKeyLockOptions = {}) {
    this.#pool = pool;
    this.#waitMs = options.waitMs ?? 10_000;
    pool.on('error', () => undefined); // an idle client that dies is replaced; Postgres freed its locks
  }

  withKeys<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    // In-process first: callers of this process queue here and hold no connection while waiting.
    return this.#local.withKeys(keys, async () => {
      const ids = [...new Set(keys.map(advisoryLockId))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      let client: PgClientLike;
      try {
        client = await this.#pool.connect();
      } catch (e) {
        throw this.#busy(e, 'no connection for the lock');
      }
      // A connection lost while fn runs must not crash the process; its locks are gone with it.
      const onError = (): void => undefined;
      client.on('error', onError);
      let broken: Error | undefined;
      try {
        for (const id of ids) {
          try {
            await client.query('SELECT pg_advisory_lock($1::bigint)', [id.toString()]);
          } catch (e) {
            if ((e as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) broken = e as Error;
            throw this.#busy(e, 'lock wait timed out');
          }
        }
        return await fn();
      } finally {
        if (!broken) await client.query('SELECT pg_advisory_unlock_all()').catch((e: Error) => (broken = e));
        client.off('error', onError);
        // A client whose unlock failed is destroyed: closing the session releases its locks.
        client.release(broken ?? false);
      }
    });
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => undefined);
  }

  #busy(cause: unknown, why: string): VoicemoodError {
    return new VoicemoodError('busy', 'Your history is being written by another instance; please try again in a moment.', {
      retryAfterS: 5,
      cause,
      details: { lock: 'postgres', why, waitMs: this.#waitMs },
    });
  }
}

/**
 * A PostgresKeyLock on its own pool to `url`. `pg` is a dependency of @keyv/postgres; it is loaded
 * by a computed name because the project has no type declarations for it (PgPoolLike covers what
 * is used).
 */
export async function openPostgresKeyLock(url: string, options: PostgresKeyLockOptions & { maxConnections?: number } = {}): Promise<PostgresKeyLock> {
  const waitMs = options.waitMs ?? 10_000;
  const name = 'pg'; // declared in package.json; loaded by name because the project has no @types/pg
  const pg = (await import(name)) as { default: { Pool: new (config: Record<string, unknown>) => PgPoolLike } };
  const pool = new pg.default.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    lock_timeout: waitMs,
    connectionTimeoutMillis: waitMs,
    application_name: 'voicemood-history-lock',
    keepAlive: true,
  });
  return new PostgresKeyLock(pool, { waitMs });
}
