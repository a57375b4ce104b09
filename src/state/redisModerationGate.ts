/**
 * The moderation gate shared by every process on one Redis: the same rules as
 * InMemoryModerationGate (snooze per chat, cooldown per member, hourly cap per chat; a group
 * signal passes when at least one of its members is out of cooldown), decided atomically by one
 * Lua script so that two instances never both send the alert one of them should have held back.
 * Signals are kept a day for Acknowledge / Snooze from any instance.
 *
 * Keys (prefix voicemood:mod:): snooze:<chat> (until, ms), sent:<chat> (sorted set of send times),
 * last:<chat>:<user> (ms), sig:<id> (signal JSON).
 */
import type { Redis } from 'ioredis';
import { DEFAULT_MODERATION, type GateLimits } from '../domain/moderation.ts';
import type { ModerationSignal } from '../domain/mood.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

// KEYS: snooze, sent, signal, last:<member>…  ARGV: now, cooldownMs, maxPerHour, signalId, signalJson
const ADMIT = `
local now = tonumber(ARGV[1])
local snoozed = redis.call('get', KEYS[1])
if snoozed and tonumber(snoozed) > now then return 0 end
local fresh = 0
for i = 4, #KEYS do
  local t = redis.call('get', KEYS[i])
  if (not t) or now - tonumber(t) >= tonumber(ARGV[2]) then fresh = fresh + 1 end
end
if fresh == 0 then return 0 end
redis.call('zremrangebyscore', KEYS[2], '-inf', now - ${HOUR_MS})
if redis.call('zcard', KEYS[2]) >= tonumber(ARGV[3]) then return 0 end
redis.call('zadd', KEYS[2], now, ARGV[4])
redis.call('pexpire', KEYS[2], ${HOUR_MS})
for i = 4, #KEYS do redis.call('set', KEYS[i], now, 'PX', ${DAY_MS}) end
redis.call('set', KEYS[3], ARGV[5], 'PX', ${DAY_MS})
return 1
`;

export class RedisModerationGate {
  readonly #redis: Redis;
  readonly #clock: () => number;
  readonly #defaults: GateLimits;
  readonly #prefix: string;

  constructor(redis: Redis, options: { clock?: () => number; limits?: Partial<GateLimits>; prefix?: string } = {}) {
    this.#redis = redis;
    this.#clock = options.clock ?? Date.now;
    this.#defaults = {
      cooldownS: options.limits?.cooldownS ?? DEFAULT_MODERATION.cooldownS,
      maxPerHour: options.limits?.maxPerHour ?? DEFAULT_MODERATION.maxPerHour,
    };
    this.#prefix = options.prefix ?? 'voicemood:mod:';
  }

  async admit(sig: ModerationSignal, limits: Partial<GateLimits> = {}): Promise<boolean> {
    const { cooldownS, maxPerHour } = { ...this.#defaults, ...limits };
    const chat = chatKey(sig);
    const keys = [
      this.#key('snooze', chat),
      this.#key('sent', chat),
      this.#key('sig', sig.id),
      ...sig.members.map((m) => this.#key('last', `${chat}:${m.userId}`)),
    ];
    try {
      return (await this.#redis.eval(ADMIT, keys.length, ...keys, this.#clock(), cooldownS * 1000, maxPerHour, sig.id, JSON.stringify(sig))) === 1;
    } catch {
      return false; // Redis down: no alert rather than one every instance might repeat; the note itself is still answered
    }
  }

  async find(signalId: string): Promise<ModerationSignal | undefined> {
    const raw = await this.#redis.get(this.#key('sig', signalId));
    return raw ? (JSON.parse(raw) as ModerationSignal) : undefined;
  }

  async acknowledge(signalId: string, _byUserId: string): Promise<boolean> {
    const raw = await this.#redis.getdel(this.#key('sig', signalId));
    if (!raw) return false;
    const sig = JSON.parse(raw) as ModerationSignal;
    const now = this.#clock();
    const multi = this.#redis.multi();
    for (const m of sig.members) multi.set(this.#key('last', `${chatKey(sig)}:${m.userId}`), now, 'PX', DAY_MS);
    await multi.exec();
    return true;
  }

  async snooze(signalId: string, seconds: number): Promise<boolean> {
    const sig = await this.find(signalId);
    if (!sig || !(seconds > 0)) return false;
    await this.#redis.set(this.#key('snooze', chatKey(sig)), this.#clock() + seconds * 1000, 'PX', Math.ceil(seconds * 1000));
    return true;
  }

  #key(kind: string, rest: string): string {
    return `${this.#prefix}${kind}:${rest}`;
  }
}

function chatKey(sig: Pick<ModerationSignal, 'platform' | 'chatId' | 'guildId'>): string {
  return `${sig.platform}:${sig.guildId ?? ''}:${sig.chatId}`;
}
