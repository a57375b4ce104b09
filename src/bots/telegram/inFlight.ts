/**
 * Tracks work started in the background (voice analyses), so that shutdown can wait for it and
 * long polling never waits for one slow analysis before taking the next update.
 */
export class InFlight {
  private readonly tasks = new Set<Promise<unknown>>();

  get size(): number {
    return this.tasks.size;
  }

  /** Runs `task` without awaiting it; its errors are the task's own business (it must catch them). */
  run(task: () => Promise<unknown>): void {
    const p = task().finally(() => this.tasks.delete(p));
    this.tasks.add(p);
  }

  /** Resolves once everything started so far (and anything started meanwhile) has settled. */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }
}
