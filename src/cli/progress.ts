/**
 * Progress of a model pull on stderr: a cli-progress bar on a terminal, and plain lines now and
 * then otherwise (logs, CI, Docker), so that a first start that pulls a model is never silent.
 */
import { createRequire } from 'node:module';
import type { PullProgress } from '../inference/download/events.ts';

export interface ProgressReporterOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Draw a bar (default: when the stream is a terminal). */
  tty?: boolean;
  /** Plain mode: at most one line per file per interval (default 5 s), plus every 25 %. */
  intervalMs?: number;
  now?: () => number;
}

export interface ProgressReporter {
  handle: PullProgress;
  /** Ends a bar that may still be drawn. */
  stop(): void;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

export function createProgressReporter(options: ProgressReporterOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  return tty ? barReporter(stream) : plainReporter(stream, options.intervalMs ?? 5000, options.now ?? Date.now);
}

function plainReporter(stream: NodeJS.WritableStream, intervalMs: number, now: () => number): ProgressReporter {
  const last = new Map<string, { at: number; quarter: number }>();
  const handle: PullProgress = (e) => {
    if (e.type === 'stage') {
      stream.write(`${e.text}\n`);
    } else if (e.type === 'file') {
      const seen = last.get(e.file);
      const quarter = e.total ? Math.floor((4 * e.received) / e.total) : 0;
      if (!seen) {
        last.set(e.file, { at: now(), quarter });
        const verb = e.kind === 'convert' ? 'writing' : e.received > 0 ? `resuming at ${formatBytes(e.received)}` : 'starting';
        stream.write(`${e.file}: ${verb}${e.total ? `${e.kind === 'convert' ? '' : ' of'} ${formatBytes(e.total)}` : ''}\n`);
        return;
      }
      if (now() - seen.at >= intervalMs || quarter > seen.quarter) {
        last.set(e.file, { at: now(), quarter });
        const pct = e.total ? ` (${Math.floor((100 * e.received) / e.total)}%)` : '';
        stream.write(`${e.file}: ${formatBytes(e.received)}${e.total ? ` of ${formatBytes(e.total)}` : ''}${pct}\n`);
      }
    } else {
      last.delete(e.file);
      stream.write(`${e.file}: ${e.cached ? 'already downloaded' : 'done'} (${formatBytes(e.bytes)})\n`);
    }
  };
  return { handle, stop: () => undefined };
}

/** The slice of cli-progress we use (it ships no types). */
interface Bar {
  start(total: number, value: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  setTotal(total: number): void;
  stop(): void;
}
interface CliProgress {
  SingleBar: new (options: Record<string, unknown>, preset?: unknown) => Bar;
  Presets: { shades_classic: unknown };
}

function barReporter(stream: NodeJS.WritableStream): ProgressReporter {
  const cliProgress = createRequire(import.meta.url)('cli-progress') as CliProgress;
  let bar: Bar | undefined;
  let barFile: string | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
    barFile = undefined;
  };
  const handle: PullProgress = (e) => {
    if (e.type === 'stage') {
      stop();
      stream.write(`${e.text}\n`);
    } else if (e.type === 'file') {
      const total = e.total ?? Math.max(e.received, 1);
      if (barFile !== e.file) {
        stop();
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: '{file} [{bar}] {percentage}% | {done} of {size} | ETA {eta_formatted}',
            hideCursor: true,
            etaBuffer: 50,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        );
        barFile = e.file;
        bar.start(total, e.received, { file: e.file, done: formatBytes(e.received), size: e.total ? formatBytes(e.total) : '?' });
      } else {
        if (e.total) bar?.setTotal(e.total);
        bar?.update(e.received, { file: e.file, done: formatBytes(e.received), size: e.total ? formatBytes(e.total) : '?' });
      }
    } else {
      stop();
      stream.write(`${e.file}: ${e.cached ? 'already downloaded' : 'done'} (${formatBytes(e.bytes)})\n`);
    }
  };
  return { handle, stop };
}
