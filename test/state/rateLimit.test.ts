import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RATE_RULES, limiterKeys, TokenBucketLimiter } from '../../src/state/rateLimit.ts';

test('token buckets: documented defaults, refill, all-or-nothing, bounded memory', () => {
  assert.deepEqual(DEFAULT_RATE_RULES, { user: { capacity: 10, perMinute: 10 }, chat: { capacity: 60, perMinute: 60 } });
  let now = 0;
  const limiter = new TokenBucketLimiter({ clock: () => now, rules: { chat: { capacity: 3, perMinute: 3 } } });
  const keys = limiterKeys({ platform: 'telegram', user: { id: 'a' }, chat: { id: 'c' } });
  assert.deepEqual(keys, ['user:telegram:a', 'chat:telegram:c']);
  for (let i = 0; i < 3; i++) assert.deepEqual(limiter.take(keys), { ok: true });
  assert.deepEqual(limiter.take(keys), { ok: false, key: 'chat:telegram:c', retryAfterS: 20 });
  // The refused request took no user token: the user still has 7 left in another chat.
  for (let i = 0; i < 7; i++) assert.equal(limiter.take(['user:telegram:a', `chat:telegram:d${i}`]).ok, true);
  assert.deepEqual(limiter.take(['user:telegram:a', 'chat:telegram:e']), { ok: false, key: 'user:telegram:a', retryAfterS: 6 });
  now += 20_000;
  assert.equal(limiter.take(keys).ok, true, 'refilled one chat token and ≥ 1 user token');
  // Other platform, same ids: separate buckets.
  assert.equal(limiter.take(['user:discord:a', 'chat:discord:c']).ok, true);
  now += 3_600_000;
  limiter.take(['user:x:1']);
  assert.equal(limiter.size, 1, 'full buckets are swept');
});
