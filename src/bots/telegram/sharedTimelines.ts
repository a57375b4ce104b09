/**
 * Timelines for the "Timeline" button shared by every Telegram instance on one Redis (several
 * webhook instances behind one URL: the tap may reach another instance than the one that sent
 * the card). Same contract as TimelineCache: scores only, never audio; a timeline analysed before
 * its owner's /forget is refused; /forget (on any instance) drops the owner's timelines; they
 * expire after `ttlS` (default a day) instead of being bounded by count. Keys are random, so that
 * instances never collide and nobody can guess another chat's.
 */
import { randomBytes } from 'node:crypto';
import type { ClaimStore, SharedKv } from '../../usecases/ports.ts';
import type { CachedTimeline, TimelineStore } from './timelineCache.ts';

const PREFIX = 'voicemood:tg:tl:';

export class SharedTimelineStore implements TimelineStore {
  readonly #kv: SharedKv;
  readonly #claims: ClaimStore;
  readonly #epochOf: (userId: string) => number;
  readonly #ttlS: number;

  constructor(kv: SharedKv, claims: ClaimStore, epochOf: (userId: string) => number = () => 0, ttlS = 86_400) {
    this.#kv = kv;
    this.#claims = claims;
    this.#epochOf = epochOf;
    this.#ttlS = ttlS;
  }

  async put(item: CachedTimeline): Promise<string | undefined> {
    if (item.owner && this.#epochOf(item.owner.userId) !== item.owner.epoch) return undefined;
    // 12 base-36 characters: "tl:" + key stays far below the 64 bytes of callback data.
    const key = BigInt(`0x${randomBytes(8).toString('hex')}`).toString(36).slice(0, 12);
    await this.#kv.setJson(PREFIX + key, { ...item, shown: false }, this.#ttlS);
    if (item.owner) await this.#kv.addMember(`${PREFIX}user:${item.owner.userId}`, key, this.#ttlS);
    return key;
  }

  async get(key: string): Promise<CachedTimeline | undefined> {
    return this.#kv.getJson<CachedTimeline>(PREFIX + key);
  }

  markShown(key: string): Promise<boolean> {
    return this.#claims.claim(`${PREFIX}shown:${key}`, this.#ttlS);
  }

  async forgetUser(userId: string): Promise<void> {
    const set = `${PREFIX}user:${userId}`;
    const keys = await this.#kv.members(set);
    await this.#kv.delete([...keys.map((k) => PREFIX + k), set]);
  }
}
