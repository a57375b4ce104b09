/**
 * Timelines waiting for their "Timeline" button, keyed by a short id that fits in callback data
 * (64 bytes). Bounded and in memory: a timeline holds scores only, never audio, and after a restart
 * the button answers that the timeline is no longer available. A /forget of the voice's owner
 * removes theirs (forgetUser), and one analysed before that /forget is refused (`epoch`).
 */
import type { Timeline } from '../../domain/mood.ts';

export interface CachedTimeline {
  timeline: Timeline;
  /** The card's HTML, so the edited message keeps it above the timeline. */
  cardHtml: string;
  /** Only the person whose note it was, or anyone in the chat? Anyone in the same chat. */
  chatId: number;
  /** Whose voice it is, and their forget epoch when the analysis started (HistoryStore.forgetEpoch). */
  owner?: { userId: string; epoch: number };
  /** Set once the button has been served (the card edited). */
  shown?: boolean;
}

/**
 * Where the Telegram adapter keeps timelines: in memory (TimelineCache) or, with several instances
 * on one Redis, shared (SharedTimelineStore), hence sync or async.
 */
export interface TimelineStore {
  put(item: CachedTimeline): string | undefined | Promise<string | undefined>;
  get(key: string): CachedTimeline | undefined | Promise<CachedTimeline | undefined>;
  /** True the first time only: a second tap must not edit the card again nor resend the chart. */
  markShown(key: string, item: CachedTimeline): boolean | Promise<boolean>;
  forgetUser(userId: string): void | Promise<void>;
}

export class TimelineCache implements TimelineStore {
  private readonly items = new Map<string, CachedTimeline>();
  private next = 1;
  private readonly capacity: number;
  private readonly epochOf: (userId: string) => number;

  constructor(capacity = 2000, epochOf: (userId: string) => number = () => 0) {
    this.capacity = capacity;
    this.epochOf = epochOf;
  }

  /** Keeps the timeline; undefined (no button) when its owner was forgotten since the analysis. */
  put(item: CachedTimeline): string | undefined {
    if (item.owner && this.epochOf(item.owner.userId) !== item.owner.epoch) return undefined;
    const key = (this.next++).toString(36);
    this.items.set(key, item);
    // Map keeps insertion order: the first key is the oldest.
    while (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value!);
    return key;
  }

  get(key: string): CachedTimeline | undefined {
    return this.items.get(key);
  }

  markShown(_key: string, item: CachedTimeline): boolean {
    if (item.shown) return false;
    item.shown = true;
    return true;
  }

  delete(key: string): void {
    this.items.delete(key);
  }

  /** Drops every timeline of this person's voice (/forget). */
  forgetUser(userId: string): void {
    for (const [key, item] of this.items) if (item.owner?.userId === userId) this.items.delete(key);
  }
}
