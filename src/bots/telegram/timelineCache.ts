/**
 * Timelines waiting for their "Timeline" button, keyed by a short id that fits in callback data
 * (64 bytes). Bounded and in memory: a timeline holds scores only, never audio, and after a restart
 * the button answers that the timeline is no longer available.
 */
import type { Timeline } from '../../mood/types.ts';

export interface CachedTimeline {
  timeline: Timeline;
  /** The card's HTML, so the edited message keeps it above the timeline. */
  cardHtml: string;
  /** Only the person whose note it was, or anyone in the chat? Anyone in the same chat. */
  chatId: number;
  /** Set once the button has been served (the card edited). */
  shown?: boolean;
}

export class TimelineCache {
  private readonly items = new Map<string, CachedTimeline>();
  private next = 1;
  private readonly capacity: number;

  constructor(capacity = 2000) {
    this.capacity = capacity;
  }

  put(item: CachedTimeline): string {
    const key = (this.next++).toString(36);
    this.items.set(key, item);
    // Map keeps insertion order: the first key is the oldest.
    while (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value!);
    return key;
  }

  get(key: string): CachedTimeline | undefined {
    return this.items.get(key);
  }

  delete(key: string): void {
    this.items.delete(key);
  }
}
