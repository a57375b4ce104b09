/**
 * RedisModerationGate decides exactly as InMemoryModerationGate (the same scripted sequence of
 * signals, acknowledgements, snoozes and clock steps gives the same answers), and two instances on
 * one Redis share cooldowns, caps and snoozes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { InMemoryModerationGate } from '../../src/state/moderationGate.ts';
import { RedisModerationGate } from '../../src/state/redisModerationGate.ts';
import type { ModerationGate } from '../../src/usecases/ports.ts';
import type { ModerationSignal } from '../../src/domain/mood.ts';
import { namedScores } from '../../src/domain/emotions.ts';
import { skipWithoutRedis, useTestRedis } from '../helpers/redis.ts';

const testRedis = useTestRedis({ before, after });
const client = (): Promise<Redis> => testRedis.client();

let n = 0;
function sig(chatId: string, users: string[]): ModerationSignal {
  return {
    id: `sig-${++n}`,
    kind: users.length > 1 ? 'heated_group' : 'repeated_negative',
    platform: 'discord',
    chatId,
    guildId: 'g1',
    members: users.map((u) => ({ userId: u, name: u, count: 3, negativeShare: 0.8, talkS: 10 })),
    windowS: 600,
    count: 3,
    scores: namedScores([0.8, 0.1, 0, 0, 0.1, 0, 0, 0, 0]),
    negativeShare: 0.8,
    trend: 'steady',
    at: 0,
  };
}

/** A scripted session; `gates` are used in turn (one gate, or two instances sharing state). */
async function script(gates: ModerationGate[], clock: { t: number }): Promise<unknown[]> {
  const out: unknown[] = [];
  let turn = 0;
  const g = (): ModerationGate => gates[turn++ % gates.length];
  const lim = { cooldownS: 60, maxPerHour: 3 };
  const a1 = sig('c1', ['alice']);
  out.push(await g().admit(a1, lim)); // sent
  out.push(await g().admit(sig('c1', ['alice']), lim)); // cooldown
  out.push(await g().admit(sig('c1', ['alice', 'bob']), lim)); // bob is fresh: group passes
  out.push(await g().admit(sig('c1', ['alice', 'bob']), lim)); // both cooling down
  out.push((await g().find?.(a1.id))?.chatId);
  clock.t += 61_000;
  out.push(await g().admit(sig('c1', ['carol']), lim)); // third this hour
  out.push(await g().admit(sig('c1', ['dave']), lim)); // cap of 3 per hour
  out.push(await g().admit(sig('c2', ['dave']), lim)); // another chat
  clock.t += 3_600_000;
  const s = sig('c1', ['erin']);
  out.push(await g().admit(s, lim));
  out.push(await g().snooze(s.id, 600));
  out.push(await g().admit(sig('c1', ['frank']), lim)); // snoozed
  out.push(await g().snooze('nope', 600), await g().acknowledge('nope', 'x'));
  clock.t += 601_000;
  const f = sig('c1', ['frank']);
  out.push(await g().admit(f, lim));
  out.push(await g().acknowledge(f.id, 'admin'), await g().acknowledge(f.id, 'admin'));
  out.push(await g().admit(sig('c1', ['frank']), lim)); // acknowledged: cooldown restarts
  return out;
}

test('the Redis gate answers as the in-memory one; two instances share its state', { skip: skipWithoutRedis }, async () => {
  const c1 = { t: 1_000_000 };
  const expected = await script([new InMemoryModerationGate({ clock: () => c1.t })], c1);
  assert.deepEqual(expected, [true, false, true, false, 'c1', true, false, true, true, true, false, false, false, true, true, false, false]);
  const c2 = { t: 1_000_000 };
  assert.deepEqual(await script([new RedisModerationGate(await client(), { clock: () => c2.t, prefix: 'm1:' })], c2), expected);
  const c3 = { t: 1_000_000 };
  const shared = [
    new RedisModerationGate(await client(), { clock: () => c3.t, prefix: 'm2:' }),
    new RedisModerationGate(await client(), { clock: () => c3.t, prefix: 'm2:' }),
  ];
  assert.deepEqual(await script(shared, c3), expected);
});
