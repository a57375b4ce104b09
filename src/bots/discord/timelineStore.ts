/**
 * Cards whose "Timeline" button may still be pressed, kept in memory (bounded, least recently
 * used first out). A restart forgets them; the button then says so. A /forget of the voice's
 * owner removes theirs (forgetUser), and one analysed before that /forget is refused (`owner.epoch`).
 */
import { randomUUID } from 'node:crypto';
import type { CardReply } from '../../commands/types.ts';

export class TimelineStore {
  readonly #max: number;
  readonly #items = new Map<string, CardReply>();
  readonly #owners = new Map<string, string>();
  readonly #epochOf: (userId: string) => number;

  constructor(max: number, epochOf: (userId: string) => number = () => 0) {
    this.#max = max;
    this.#epochOf = epochOf;
  }

  /**
   * Keeps the card; returns the key for the button (short: custom ids are at most 100 chars), or
   * undefined (no button) when the voice's owner was forgotten since it was analysed.
   */
  put(card: CardReply, owner?: { userId: string; epoch: number }): string | undefined {
    if (owner && this.#epochOf(owner.userId) !== owner.epoch) return undefined;
    const key = card.entryId && card.entryId.length <= 64 ? card.entryId : randomUUID();
    this.#items.delete(key);
    this.#items.set(key, card);
    if (owner) this.#owners.set(key, owner.userId);
    else this.#owners.delete(key);
    while (this.#items.size > this.#max) {
      const oldest = this.#items.keys().next().value!;
      this.#items.delete(oldest);
      this.#owners.delete(oldest);
    }
    return key;
  }

  /** Drops every card of this person's voice (/forget). */
  forgetUser(userId: string): void {
    for (const [key, owner] of this.#owners) {
      if (owner !== userId) continue;
      this.#owners.delete(key);
      this.#items.delete(key);
    }
  }

  get(key: string): CardReply | undefined {
    const card = this.#items.get(key);
    if (card) {
      this.#items.delete(key);
      this.#items.set(key, card);
    }
    return card;
  }
}
