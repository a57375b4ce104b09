/**
 * A lock file so that two processes pulling the same model (two bots starting at once on a
 * shared models volume, or `model pull` while the bot starts) do not write the same .part files.
 * The holder refreshes the file's mtime as a heartbeat; a lock not refreshed for `staleMs` is
 * taken over (its holder crashed). Mtimes work across containers, where pids do not.
 */
import { open, rm, stat, utimes } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockOptions {
  /** Heartbeat period (default 5 s). */
  heartbeatMs?: number;
  /** A lock older than this is stale (default 30 s). */
  staleMs?: number;
  /** Poll period while waiting (default 1 s). */
  pollMs?: number;
  /** Called once when we have to wait for another holder. */
  onWait?: () => void;
  signal?: AbortSignal;
}

export interface Lock {
  release(): Promise<void>;
}

export async function acquireLock(path: string, options: LockOptions = {}): Promise<Lock> {
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const staleMs = options.staleMs ?? 30_000;
  let told = false;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => Number.POSITIVE_INFINITY, // vanished: try again at once
    );
    if (age > staleMs) {
      await rm(path, { force: true });
      continue;
    }
    if (!told) {
      told = true;
      options.onWait?.();
    }
    await sleep(options.pollMs ?? 1000, undefined, { signal: options.signal }).catch((e: unknown) => {
      throw options.signal?.reason instanceof Error ? options.signal.reason : e;
    });
  }
  const timer = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, heartbeatMs);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await rm(path, { force: true });
    },
  };
}
