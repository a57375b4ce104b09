/**
 * ClaimStore on Redis: SET key NX EX ttl, so that exactly one instance wins each key. When Redis
 * cannot be reached the claim is granted (answering a re-delivered update twice is better than
 * answering nobody) and `onError` is told. Also SharedKv on Redis (JSON strings, sets).
 */
import type { Redis } from 'ioredis';

export class RedisClaims {
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

export class RedisSharedKv {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const raw = await this.#redis.get(key);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  async setJson(key: string, value: unknown, ttlS: number): Promise<void> {
    await this.#redis.set(key, JSON.stringify(value), 'EX', Math.max(1, Math.round(ttlS)));
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.#redis.del(...keys);
  }

  async addMember(setKey: string, member: string, ttlS: number): Promise<void> {
    await this.#redis
      .multi()
      .sadd(setKey, member)
      .expire(setKey, Math.max(1, Math.round(ttlS)))
      .exec();
  }

  members(setKey: string): Promise<string[]> {
    return this.#redis.smembers(setKey);
  }
}
