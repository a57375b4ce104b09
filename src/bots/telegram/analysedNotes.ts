/**
 * Voice notes analysed recently, per chat + message id (default for an hour, bounded): a
 * reply-/mood to a note analysed before shows the same card again instead of analysing it again,
 * so a note is analysed (and stored) at most once however many members ask. A request that
 * arrives while the first analysis runs waits for it. In memory only (scores, never audio); a
 * /forget of the note's author drops their notes.
 */
import type { CardReply } from '../../commands/types.ts';

export interface AnalysedNote {
  /** Whose voice it is. */
  authorId: string;
  /** The card, once the analysis is done; undefined when it gave none (refused, failed). */
  card: Promise<CardReply | undefined>;
  at: number;
}

export class AnalysedNotes {
  readonly #items = new Map<string, AnalysedNote>();
  readonly #clock: () => number;
  readonly #ttlMs: number;
  readonly #capacity: number;

  constructor(options: { clock: () => number; ttlMs?: number; capacity?: number }) {
    this.#clock = options.clock;
    this.#ttlMs = options.ttlMs ?? 3_600_000;
    this.#capacity = options.capacity ?? 1000;
  }

  get(chatId: number, messageId: number): AnalysedNote | undefined {
    const key = `${chatId}:${messageId}`;
    const note = this.#items.get(key);
    if (note && this.#clock() - note.at > this.#ttlMs) {
      this.#items.delete(key);
      return undefined;
    }
    return note;
  }

  /** Remembers an analysis in progress; an analysis that gives no card is forgotten (a later request may try again). */
  remember(chatId: number, messageId: number, authorId: string, card: Promise<CardReply | undefined>): void {
    const key = `${chatId}:${messageId}`;
    const note: AnalysedNote = { authorId, card, at: this.#clock() };
    this.#items.delete(key);
    this.#items.set(key, note);
    while (this.#items.size > this.#capacity) this.#items.delete(this.#items.keys().next().value!);
    void card.then((c) => {
      if (!c && this.#items.get(key) === note) this.#items.delete(key);
    });
  }

  /** Drops every note of this author (/forget). */
  forgetUser(authorId: string): void {
    for (const [key, note] of this.#items) if (note.authorId === authorId) this.#items.delete(key);
  }

  get size(): number {
    return this.#items.size;
  }
}
