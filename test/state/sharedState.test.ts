/**
 * Shared state on Redis: rate limits of two instances add up (all or none per request), update
 * claims are won exactly once, and with Redis gone the limiter falls back to memory and a claim
 * is granted rather than dropping the update.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisRateLimiter } from '../../src/state/redisRateLimit.ts';
import { RedisClaims } from '../../src/state/redisClaims.ts';
import { redisConnection } from '../../src/queue/config.ts';
import { sharedRedisUrl } from '../../src/services.ts';
import { skipWithoutRedis, useTestRedis } from '../helpers/redis.ts';

const testRedis = useTestRedis({ before, after });
const client = (): Promise<Redis> => testRedis.client({ ignoreErrors: true });

const rules = { user: { capacity: 3, perMinute: 3 }, chat: { capacity: 4, perMinute: 4 } };

test('the shared Redis: VOICEMOOD_QUEUE_URL, else a Redis KEYV_URL, else none', () => {
  assert.equal(sharedRedisUrl({ VOICEMOOD_QUEUE_URL: 'redis://q:1', KEYV_URL: 'redis://k:2' }), 'redis://q:1');
  assert.equal(sharedRedisUrl({ KEYV_URL: 'rediss://k:2' }), 'rediss://k:2');
  assert.equal(sharedRedisUrl({ KEYV_URL: 'postgres://db/x' }), undefined);
  assert.equal(sharedRedisUrl({}), undefined);
});

test('rate limits: two instances share the buckets; a refused request costs no token anywhere', { skip: skipWithoutRedis }, async () => {
  const a = new RedisRateLimiter(await client(), { rules, prefix: 'test:rl1' });
  const b = new RedisRateLimiter(await client(), { rules, prefix: 'test:rl1' });
  const keys = (u: string): string[] => [`user:telegram:${u}`, 'chat:telegram:room'];
  const results = [];
  for (let i = 0; i < 4; i++) results.push(await (i % 2 ? b : a).take(keys('1')));
  assert.deepEqual(
    results.map((r) => r.ok),
    [true, true, true, false],
  );
  const refused = results[3];
  assert.ok(!refused.ok && refused.key === 'user:telegram:1' && refused.retryAfterS >= 1 && refused.retryAfterS <= 60);
  // The refused request took nothing from the chat: one more user fits it exactly.
  assert.equal((await b.take(keys('2'))).ok, true);
  const full = await a.take(keys('3'));
  assert.ok(!full.ok && full.key === 'chat:telegram:room', 'the chat bucket (4) is now empty');
  // …and the refusal by the chat gave user 3's token back.
  const r = await client();
  assert.equal(await r.get('test:rl1:user:user:telegram:3'), '0');
});

test('update claims: exactly one of two instances wins each key, for its TTL', { skip: skipWithoutRedis }, async () => {
  const a = new RedisClaims(await client());
  const b = new RedisClaims(await client());
  const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim('test:claim:7', 60)));
  assert.equal(wins.filter(Boolean).length, 1);
  assert.equal(await a.claim('test:claim:8', 60), true);
  assert.equal(await b.claim('test:claim:8', 60), false);
  assert.ok((await (await client()).ttl('test:claim:8')) > 50);
});

test('Redis down: the limiter falls back to this process, a claim is granted and reported', { skip: skipWithoutRedis }, async () => {
  const { startRedis: start } = await import('../helpers/redis.ts');
  const other = await start();
  const c = redisConnection(other.url, 'down', { failFast: true });
  c.on('error', () => undefined);
  testRedis.track(c);
  await new Promise<void>((resolve) => (c.status === 'ready' ? resolve() : c.once('ready', () => resolve())));
  const limiter = new RedisRateLimiter(c, { rules, prefix: 'test:rl2' });
  const errors: unknown[] = [];
  const claims = new RedisClaims(c, (e) => errors.push(e));
  other.stop();
  await new Promise<void>((resolve) => (c.status === 'ready' ? c.once('end', () => resolve()).once('reconnecting', () => resolve()) : resolve()));
  const took = [];
  for (let i = 0; i < 4; i++) took.push((await limiter.take(['user:telegram:9'])).ok);
  assert.deepEqual(took, [true, true, true, false], 'the same rule, in memory');
  assert.equal(await claims.claim('test:claim:9', 60), true);
  assert.equal(errors.length, 1);
});
