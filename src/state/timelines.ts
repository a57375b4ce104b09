/**
 * Timelines waiting for their card's "Timeline" button, for both chat adapters. Each adapter keeps
 * what it needs to redraw the card (Telegram: the card's HTML and chat; Discord: the card reply);
 * the store only adds a short key (it must fit Telegram's 64 bytes of callback data and Discord's
 * 100-character custom ids), the owner's /forget, and "shown once".
 *
 * Timelines hold scores only, never audio. A /forget of the voice's owner removes theirs
 * (forgetUser), and one analysed before that /forget is refused (`owner.epoch` against the
 * history's forget epoch). Two variants: in memory (bounded, least recently used first out; a
 * restart forgets them and the button says so) and shared through Redis by every instance on it
 * (the tap may reach another instance than the one that sent the card; entries expire instead).
 */
import { randomBytes } from 'node:crypto';

/** Whose voice a timeline is, and their forget epoch when the analysis started (HistoryStore.forgetEpoch). */
export interface TimelineOwner {
  userId: string;
  epoch: number;
}

/** Sync in memory, async when shared: callers await. */
export interface TimelineStore<T> {
  /** Keeps the item; its key, or undefined (no button) when its owner was forgotten since the analysis. */
  put(item: T, owner?: TimelineOwner): string | undefined | Promise<string | undefined>;
  get(key: string): T | undefined | Promise<T | undefined>;
  /** True the first time only: a second tap must not edit the card again nor resend the chart. */
  markShown(key: string): boolean | Promise<boolean>;
  /** Drops every timeline of this person's voice (/forget). */
  forgetUser(userId: string): void | Promise<void>;
}

/** 12 base-36 characters at most: random, so that keys never collide across instances or restarts, and cannot be guessed. */
export function newTimelineKey(): string {
  return BigInt(`0x${randomBytes(8).toString('hex')}`)
    .toString(36)
    .slice(0, 12);
}

export interface MemoryTimelineOptions<T> {
  /** How many are kept; past it the least recently used goes. */
  capacity: number;
  epochOf?: (userId: string) => number;
  /** A key of the item's own (e.g. its history entry id: the same card keeps its key); default a fresh random one. */
  keyOf?: (item: T) => string | undefined;
}

interface Entry<T> {
  item: T;
  ownerId?: string;
  shown: boolean;
}

export class MemoryTimelineStore<T> implements TimelineStore<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #capacity: number;
  readonly #epochOf: (userId: string) => number;
  readonly #keyOf: (item: T) => string | undefined;

  constructor(options: MemoryTimelineOptions<T>) {
    this.#capacity = options.capacity;
    this.#epochOf = options.epochOf ?? (() => 0);
    this.#keyOf = options.keyOf ?? (() => undefined);
  }

  get size(): number {
    return this.#entries.size;
  }

  put(item: T, owner?: TimelineOwner): string | undefined {
    if (owner && this.#epochOf(owner.userId) !== owner.epoch) return undefined;
    const key = this.#keyOf(item) ?? newTimelineKey();
    this.#entries.delete(key);
    this.#entries.set(key, { item, ...(owner ? { ownerId: owner.userId } : {}), shown: false });
    // Map keeps insertion order, and get() moves what it reads to the end: the first key is the least recently used.
    while (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    return key;
  }

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.item;
  }

  /** An entry dropped since it was read (evicted, forgotten) counts as not shown yet: the reader has it. */
  markShown(key: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return true;
    if (entry.shown) return false;
    entry.shown = true;
    return true;
  }

  forgetUser(userId: string): void {
    for (const [key, entry] of this.#entries) if (entry.ownerId === userId) this.#entries.delete(key);
  }
}

/**
 * A small key-value store shared by every instance on one Redis (RedisSharedKv; Services.sharedKv):
 * JSON values with a TTL, and sets of keys.
 */
export interface TimelineKv {
  getJson<T>(key: string): Promise<T | undefined>;
  setJson(key: string, value: unknown, ttlS: number): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  addMember(setKey: string, member: string, ttlS: number): Promise<void>;
  members(setKey: string): Promise<string[]>;
}

/** First caller wins (RedisClaims; the use cases' ClaimStore fits). */
export interface TimelineClaims {
  claim(key: string, ttlS: number): Promise<boolean>;
}

export interface SharedTimelineOptions {
  /** Redis key prefix, per adapter (e.g. "voicemood:tg:tl:"). */
  prefix: string;
  epochOf?: (userId: string) => number;
  /** How long a timeline is kept, in seconds (default a day). */
  ttlS?: number;
}

/** Shared by every instance on one Redis; expires after `ttlS` instead of being bounded by count. */
export class SharedTimelineStore<T> implements TimelineStore<T> {
  readonly #kv: TimelineKv;
  readonly #claims: TimelineClaims;
  readonly #prefix: string;
  readonly #epochOf: (userId: string) => number;
  readonly #ttlS: number;

  constructor(kv: TimelineKv, claims: TimelineClaims, options: SharedTimelineOptions) {
    this.#kv = kv;
    this.#claims = claims;
    this.#prefix = options.prefix;
    this.#epochOf = options.epochOf ?? (() => 0);
    this.#ttlS = options.ttlS ?? 86_400;
  }

  async put(item: T, owner?: TimelineOwner): Promise<string | undefined> {
    if (owner && this.#epochOf(owner.userId) !== owner.epoch) return undefined;
    const key = newTimelineKey();
    await this.#kv.setJson(this.#prefix + key, item, this.#ttlS);
    if (owner) await this.#kv.addMember(`${this.#prefix}user:${owner.userId}`, key, this.#ttlS);
    return key;
  }

  async get(key: string): Promise<T | undefined> {
    return this.#kv.getJson<T>(this.#prefix + key);
  }

  markShown(key: string): Promise<boolean> {
    return this.#claims.claim(`${this.#prefix}shown:${key}`, this.#ttlS);
  }

  async forgetUser(userId: string): Promise<void> {
    const set = `${this.#prefix}user:${userId}`;
    const keys = await this.#kv.members(set);
    await this.#kv.delete([...keys.map((k) => this.#prefix + k), set]);
  }
}
