/**
 * Token buckets per user and per chat (issue 7). Defaults: 10 voice notes per minute per user
 * (bursts of 10), 60 per minute per chat (bursts of 60). Keys: "user:<platform>:<id>" and
 * "chat:<platform>:<id>" (see limiterKeys); the part before the first ':' picks the rule.
 * In-memory and bounded: buckets that refilled completely are dropped.
 */
import type { Platform } from '../domain/platform.ts';

export interface BucketRule {
  /** Tokens a full bucket holds (the burst). */
  capacity: number;
  /** Tokens added per minute. */
  perMinute: number;
}

export const DEFAULT_RATE_RULES: Readonly<Record<string, BucketRule>> = Object.freeze({
  user: { capacity: 10, perMinute: 10 },
  chat: { capacity: 60, perMinute: 60 },
});

export function limiterKeys(ctx: { platform: Platform; user: { id: string }; chat: { id: string } }): string[] {
  return [`user:${ctx.platform}:${ctx.user.id}`, `chat:${ctx.platform}:${ctx.chat.id}`];
}

export class TokenBucketLimiter {
  private readonly rules: Record<string, BucketRule>;
  private readonly clock: () => number;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private lastSweep = 0;

  constructor(options: { rules?: Partial<Record<string, BucketRule>>; clock?: () => number } = {}) {
    this.rules = { ...DEFAULT_RATE_RULES, ...(options.rules as Record<string, BucketRule>) };
    this.clock = options.clock ?? Date.now;
  }

  take(keys: readonly string[]): { ok: true } | { ok: false; retryAfterS: number; key: string } {
    const now = this.clock();
    this.sweep(now);
    const states = keys.map((key) => {
      const rule = this.ruleOf(key);
      const b = this.buckets.get(key);
      const tokens = b ? Math.min(rule.capacity, b.tokens + ((now - b.at) / 60_000) * rule.perMinute) : rule.capacity;
      return { key, rule, tokens };
    });
    // All or nothing: a refused request costs no token anywhere.
    const empty = states.find((s) => s.tokens < 1);
    if (empty) return { ok: false, key: empty.key, retryAfterS: Math.max(1, Math.ceil(((1 - empty.tokens) / empty.rule.perMinute) * 60)) };
    for (const s of states) this.buckets.set(s.key, { tokens: s.tokens - 1, at: now });
    return { ok: true };
  }

  /** Number of buckets held (for tests of boundedness). */
  get size(): number {
    return this.buckets.size;
  }

  private ruleOf(key: string): BucketRule {
    const kind = key.slice(0, key.indexOf(':'));
    return this.rules[kind] ?? this.rules.user;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, b] of this.buckets) {
      const rule = this.ruleOf(key);
      if (b.tokens + ((now - b.at) / 60_000) * rule.perMinute >= rule.capacity) this.buckets.delete(key);
    }
  }
}
