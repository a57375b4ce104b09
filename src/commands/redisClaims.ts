/**
 * ClaimStore on Redis: SET key NX EX ttl, so that exactly one instance wins each key. When Redis
 * cannot be reached the claim is granted (answering a re-delivered update twice is better than
 * answering nobody) and `onError` is told.
 */
import type { Redis } from 'ioredis';
import type { ClaimStore } from './types.ts';

export class RedisClaims implements ClaimStore {
  readonly #redis: Redis;
  readonly #onError: (e: unknown) => void;

  constructor(redis: Redis, onError: (e: unknown) => void = () => undefined) {
    this.#redis = redis;
    this.#onError = onError;
  }

  async claim(key: string, ttlS: number): Promise<boolean> {
    try {
      return (await this.#redis.set(key, String(process.pid), 'EX', Math.max(1, Math.round(ttlS)), 'NX')) === 'OK';
    } catch (e) {
      this.#onError(e);
      return true;
    }
  }
}
