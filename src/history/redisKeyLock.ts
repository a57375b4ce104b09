/**
 * The history store's key lock across processes, for a store on Redis (several gateways on one
 * KEYV_URL): every read-modify-write holds, besides the in-process KeyedMutex, a Redis lock per
 * key — SET <lock> <token> NX PX <ttl>, released by a script that deletes it only while it still
 * holds our token. Keys are taken in sorted order (no deadlock between processes either); a lock
 * that is not free is retried with jittered backoff until `waitMs`, then the write fails with a
 * typed error. A holder that dies mid-write blocks its keys for at most `ttlMs`.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { VoicemoodError } from '../domain/errors.ts';
import { KeyedMutex, type KeyLock } from './keyedMutex.ts';

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export interface RedisKeyLockOptions {
  /** Prefix of the lock keys (default "voicemood:lock:"). */
  prefix?: string;
  /** Longest a lock is held if its holder dies (default 15 s; writes take milliseconds). */
  ttlMs?: number;
  /** Longest wait for a lock before the write fails (default 10 s). */
  waitMs?: number;
}

export class RedisKeyLock implements KeyLock {
  readonly #redis: Redis;
  readonly #local = new KeyedMutex();
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #waitMs: number;

  constructor(redis: Redis, options: RedisKeyLockOptions = {}) {
    this.#redis = redis;
    this.#prefix = options.prefix ?? 'voicemood:lock:';
    this.#ttlMs = options.ttlMs ?? 15_000;
    this.#waitMs = options.waitMs ?? 10_000;
  }

  withKeys<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    // In-process first: callers of this process queue here instead of polling Redis.
    return this.#local.withKeys(keys, async () => {
      const sorted = [...new Set(keys)].sort();
      const token = randomUUID();
      const held: string[] = [];
      try {
        for (const k of sorted) {
          await this.#acquire(this.#prefix + k, token);
          held.push(this.#prefix + k);
        }
        return await fn();
      } finally {
        await Promise.all(held.map((k) => this.#redis.eval(RELEASE, 1, k, token).catch(() => 0)));
      }
    });
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => undefined);
  }

  async #acquire(key: string, token: string): Promise<void> {
    const deadline = Date.now() + this.#waitMs;
    for (let attempt = 0; ; attempt++) {
      if ((await this.#redis.set(key, token, 'PX', this.#ttlMs, 'NX')) === 'OK') return;
      if (Date.now() > deadline)
        throw new VoicemoodError('busy', 'Your history is being written by another instance; please try again in a moment.', {
          retryAfterS: 5,
          details: { lock: key },
        });
      const backoff = Math.min(200, 2 ** Math.min(attempt, 7));
      await new Promise((r) => setTimeout(r, backoff / 2 + Math.random() * backoff));
    }
  }
}
