/**
 * In-process mutual exclusion per key. keyv offers get/set but no compare-and-swap, so every
 * read-modify-write of a key (an index bucket, a settings record) runs while holding that key.
 * Several keys are always acquired in sorted order, so two operations can never deadlock.
 */
/** Mutual exclusion per key: in this process (KeyedMutex) or across processes (RedisKeyLock). */
export interface KeyLock {
  /** Runs fn while holding every key in `keys`. */
  withKeys<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T>;
  /** Releases what the lock holds open (a connection). */
  close?(): Promise<void>;
}

export class KeyedMutex implements KeyLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs fn while holding every key in `keys`. */
  async withKeys<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const k of sorted) releases.push(await this.acquire(k));
      return await fn();
    } finally {
      for (const r of releases.reverse()) r();
    }
  }

  /** Keys currently held or waited for (for tests and flush). */
  get size(): number {
    return this.tails.size;
  }

  private async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      // Drop the entry when nobody queued behind us, so the map stays small.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
