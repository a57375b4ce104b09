/**
 * How long the main thread's event loop was blocked over a period: a libuv timer ticks every
 * `resolutionMs` (perf_hooks monitorEventLoopDelay), and the longest gap between two ticks, less
 * one period, is the longest stall (accurate to within one period). Used by the engine's stall
 * test and by `npm run bench`.
 *
 *   const stall = watchLoopStall();
 *   await work();
 *   const { longestMs } = await stall.stop();
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopStallReport {
  /** Longest stall seen, in ms (0 when the loop never fell behind its timer). */
  longestMs: number;
  /** Mean and 99th percentile of the gaps between ticks, less one period, in ms. */
  meanMs: number;
  p99Ms: number;
  /** Ticks sampled, and their period. */
  samples: number;
  resolutionMs: number;
}

export interface LoopStallWatch {
  /** The figures so far; the watch keeps running. */
  read(): LoopStallReport;
  /**
   * Lets the timer tick once more (a stall that just ended is recorded only at the next tick),
   * then stops sampling and returns the figures.
   */
  stop(): Promise<LoopStallReport>;
}

export function watchLoopStall(resolutionMs = 5): LoopStallWatch {
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  const ms = (ns: number): number => Math.max(0, ns / 1e6 - resolutionMs);
  const read = (): LoopStallReport =>
    h.count === 0
      ? { longestMs: 0, meanMs: 0, p99Ms: 0, samples: 0, resolutionMs }
      : { longestMs: ms(h.max), meanMs: ms(h.mean), p99Ms: ms(h.percentile(99)), samples: h.count, resolutionMs };
  let final: LoopStallReport | undefined;
  return {
    read: () => final ?? read(),
    async stop() {
      if (!final) {
        await new Promise((resolve) => setTimeout(resolve, 2 * resolutionMs));
        final ??= read();
        h.disable();
      }
      return final;
    },
  };
}
