/**
 * Draws PNG charts on a worker thread (chartWorker.ts): building the SVG and rasterising it with
 * resvg takes ~250 ms for a 10-minute timeline, which the event loop that talks to users must not
 * wait for. One worker, started on first use, draws one chart at a time in order; the PNG bytes come
 * back moved. An idle worker does not keep the process alive; a worker that dies fails the charts it
 * held and the next chart starts a new one.
 */
import { Worker } from 'node:worker_threads';
import { VoicemoodError } from '../domain/errors.ts';
import type { SharesChart } from './chart.ts';

export type ChartToWorker = { id: number; chart: SharesChart };
export type ChartFromWorker = { id: number; ok: true; png: Uint8Array } | { id: number; ok: false; message: string };

interface Pending {
  resolve(png: Uint8Array): void;
  reject(e: unknown): void;
}

const WORKER_URL = new URL('./chartWorker.ts', import.meta.url);

function failed(details: Record<string, unknown>, cause?: unknown): VoicemoodError {
  return new VoicemoodError('internal', 'The chart could not be drawn on our side; please try again.', { details, ...(cause !== undefined ? { cause } : {}) });
}

export class ChartThread {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  /** PNG bytes of the chart, drawn off the event loop. */
  render(chart: SharesChart): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      const id = this.#nextId++;
      let worker: Worker;
      try {
        worker = this.#worker ?? this.#spawn();
        worker.postMessage({ id, chart } satisfies ChartToWorker);
      } catch (e) {
        return reject(failed({ stage: 'start' }, e));
      }
      this.#pending.set(id, { resolve, reject });
      worker.ref();
    });
  }

  /** Stops the worker; charts still being drawn fail. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failAll('closed');
    await worker?.terminate();
  }

  #failAll(why: string): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(failed({ worker: why }));
  }

  #spawn(): Worker {
    // The worker inherits the process's flags, except --input-type (only an --eval/stdin main takes it).
    const inputType = process.execArgv.some((a) => a.startsWith('--input-type'));
    const worker = new Worker(WORKER_URL, inputType ? { execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')) } : {});
    worker.unref();
    worker.on('message', (msg: ChartFromWorker) => {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (this.#pending.size === 0) worker.unref();
      if (msg.ok) p.resolve(msg.png);
      else p.reject(failed({ cause: msg.message }));
    });
    const lost = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#failAll(why);
    };
    worker.on('error', (e) => lost(e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    this.#worker = worker;
    return worker;
  }
}

let shared: ChartThread | undefined;

/** The process's chart thread. */
export function chartThread(): ChartThread {
  shared ??= new ChartThread();
  return shared;
}

/** Stops the shared chart worker (graceful shutdown; the next chart starts a new one). */
export async function closeChartThread(): Promise<void> {
  const thread = shared;
  shared = undefined;
  await thread?.close();
}
