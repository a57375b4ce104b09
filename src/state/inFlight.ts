/**
 * In-memory accounting of background work, shared by the chat adapters: what is in flight (so that
 * shutdown can wait for it, and an adapter never waits for one slow analysis before taking the next
 * update) and how many voice analyses run at once (a "busy" reply past the bound).
 */

/** Work started without being awaited; `drain()` waits for all of it. */
export class InFlight {
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #onError: (e: unknown) => void;

  /** `onError`: what happens to a task's failure (tasks are expected to catch their own; this is the net). */
  constructor(onError: (e: unknown) => void) {
    this.#onError = onError;
  }

  get size(): number {
    return this.#tasks.size;
  }

  /** Tracks a promise already running. */
  track(p: Promise<unknown>): void {
    const tracked: Promise<unknown> = p.catch(this.#onError).finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  /** Starts `task` now (synchronously up to its first await) without awaiting it. */
  run(task: () => Promise<unknown>): void {
    let p: Promise<unknown>;
    try {
      p = task();
    } catch (e) {
      p = Promise.reject(e);
    }
    this.track(p);
  }

  /** Resolves once everything started so far (and anything started meanwhile) has settled. */
  async drain(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }
}

/**
 * A bound on work of one kind running at once (voice analyses: downloads and decoded audio in
 * memory). `enter()` takes a place or says no (the caller answers "busy"); `leave()` gives it back.
 */
export class BusyCounter {
  #running = 0;
  readonly #max: () => number;

  /** `max`: a number, or a function read at each `enter()` (e.g. the engine's current capacity). */
  constructor(max: number | (() => number)) {
    this.#max = typeof max === 'number' ? () => max : max;
  }

  get running(): number {
    return this.#running;
  }

  enter(): boolean {
    if (this.#running >= this.#max()) return false;
    this.#running++;
    return true;
  }

  leave(): void {
    if (this.#running > 0) this.#running--;
  }
}
