/**
 * The rate limits shared by every process on one Redis (rate-limiter-flexible's RateLimiterRedis),
 * behind the same RateLimiter interface as the in-memory TokenBucketLimiter: same rules (per user,
 * per chat; VOICEMOOD_RATE_USER_PER_MIN / _CHAT_PER_MIN), same keys, all or none. Windows are
 * fixed (`capacity` notes per `capacity/perMinute` minutes from the first one) rather than a
 * refilling bucket. If Redis cannot be reached, each process falls back to an in-memory limiter
 * of the same rules (rate-limiter-flexible's insurance limiter) instead of refusing everyone.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { DEFAULT_RATE_RULES, type BucketRule } from './rateLimit.ts';
import type { TakeResult } from '../domain/rateLimit.ts';

export class RedisRateLimiter {
  readonly #limiters = new Map<string, RateLimiterRedis>();

  constructor(redis: Redis, options: { rules?: Partial<Record<string, BucketRule>>; prefix?: string } = {}) {
    const rules = { ...DEFAULT_RATE_RULES, ...(options.rules as Record<string, BucketRule>) };
    for (const [kind, rule] of Object.entries(rules)) {
      const opts = {
        points: rule.capacity,
        duration: Math.max(1, Math.round((60 * rule.capacity) / rule.perMinute)),
        keyPrefix: `${options.prefix ?? 'voicemood:rl'}:${kind}`,
      };
      this.#limiters.set(
        kind,
        new RateLimiterRedis({ ...opts, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(opts) }),
      );
    }
  }

  async take(keys: readonly string[]): Promise<TakeResult> {
    const taken: { limiter: RateLimiterRedis; key: string }[] = [];
    for (const key of keys) {
      const limiter = this.#limiterOf(key);
      try {
        await limiter.consume(key, 1);
        taken.push({ limiter, key });
      } catch (e) {
        // All or nothing: give back what this request already took.
        await Promise.all(taken.map((t) => t.limiter.reward(t.key, 1).catch(() => undefined)));
        if (e instanceof RateLimiterRes) return { ok: false, key, retryAfterS: Math.max(1, Math.ceil(e.msBeforeNext / 1000)) };
        throw e;
      }
    }
    return { ok: true };
  }

  #limiterOf(key: string): RateLimiterRedis {
    return this.#limiters.get(key.slice(0, key.indexOf(':'))) ?? this.#limiters.get('user')!;
  }
}
