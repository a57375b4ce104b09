/**
 * Timeline buttons shared by instances on one Redis (the Telegram adapter's, with its prefix): a card sent by one instance can be
 * expanded by another, only once; a /forget on either drops the owner's timelines; one analysed
 * before the owner's /forget is refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SharedTimelineStore } from '../../src/state/timelines.ts';
import { RedisClaims, RedisSharedKv } from '../../src/state/redisClaims.ts';
import type { Timeline } from '../../src/domain/mood.ts';
import { skipWithoutRedis, useTestRedis } from '../helpers/redis.ts';

const testRedis = useTestRedis({ before, after });

interface Item {
  timeline: Timeline;
  cardHtml: string;
  chatId: number;
}

async function instance(epochs: Map<string, number>): Promise<SharedTimelineStore<Item>> {
  const c = await testRedis.client();
  return new SharedTimelineStore<Item>(new RedisSharedKv(c), new RedisClaims(c), { prefix: 'voicemood:tg:tl:', epochOf: (u) => epochs.get(u) ?? 0 });
}

const timeline = { durationS: 3, windows: [{ startS: 0, endS: 3, emotion: 'happy', confidence: 0.7 }] } as unknown as Timeline;

test('a timeline put by one instance is served by another, once; /forget on either drops it', { skip: skipWithoutRedis }, async () => {
  const epochs = new Map<string, number>();
  const a = await instance(epochs);
  const b = await instance(epochs);
  const key = await a.put({ timeline, cardHtml: '<b>card</b>', chatId: 7 }, { userId: 'u1', epoch: 0 });
  assert.match(key!, /^[0-9a-z]{1,12}$/);
  const other = await a.put({ timeline, cardHtml: '<b>other</b>', chatId: 7 }, { userId: 'u2', epoch: 0 });
  assert.notEqual(other, key);
  const item = await b.get(key!);
  assert.deepEqual(item, { timeline, cardHtml: '<b>card</b>', chatId: 7 });
  assert.deepEqual(await Promise.all([a.markShown(key!), b.markShown(key!), b.markShown(key!)]), [true, false, false]);
  await b.forgetUser('u1');
  assert.equal(await a.get(key!), undefined);
  assert.equal((await a.get(other!))?.cardHtml, '<b>other</b>', "another person's timeline stays");
  epochs.set('u2', 1); // u2 said /forget while a note of theirs was analysed
  assert.equal(await b.put({ timeline, cardHtml: 'x', chatId: 7 }, { userId: 'u2', epoch: 0 }), undefined);
  assert.equal(await a.get('nosuchkey'), undefined);
});
