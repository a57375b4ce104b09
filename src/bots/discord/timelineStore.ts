/**
 * Cards whose "Timeline" button may still be pressed, kept in memory (bounded, least recently
 * used first out). A restart forgets them; the button then says so.
 */
import { randomUUID } from 'node:crypto';
import type { CardReply } from '../../commands/types.ts';

export class TimelineStore {
  readonly #max: number;
  readonly #items = new Map<string, CardReply>();

  constructor(max: number) {
    this.#max = max;
  }

  /** Keeps the card; returns the key for the button (short: custom ids are at most 100 chars). */
  put(card: CardReply): string {
    const key = card.entryId && card.entryId.length <= 64 ? card.entryId : randomUUID();
    this.#items.delete(key);
    this.#items.set(key, card);
    while (this.#items.size > this.#max) this.#items.delete(this.#items.keys().next().value!);
    return key;
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
