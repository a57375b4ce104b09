/**
 * The session on its own thread: `openWorkerSession` starts sessionWorker.ts in a worker_threads
 * Worker, which opens the model there (with the optimised-graph cache of session.ts), and returns
 * a BatchRunner that posts each padded batch to it. The main thread only moves buffers (transferred
 * both ways, not copied), so a long run no longer blocks its event loop.
 *
 * - Opening errors (model_invalid and its sentences) come back as the same VoicemoodErrors.
 * - A worker that dies (an uncaught error, a native crash that only takes the thread, an exit)
 *   rejects the batch in flight with VoicemoodError('internal'); the next batch starts a fresh
 *   worker (reopening from the optimised-graph cache, about a second on base) and runs there. If
 *   that reopening fails, that batch is rejected with the reason and the next one tries again.
 * - The worker is ref'd only while it opens or runs a batch: an idle engine does not keep the
 *   process alive (as the in-thread session did not), and release() ends the thread.
 */
import { Worker } from 'node:worker_threads';
import { VoicemoodError } from '../domain/errors.ts';
import type { BatchOutputs, BatchRunner, OpenedSession, SessionOptions } from './session.ts';
import { fromWire, type FromWorker, type SessionWorkerData, type ToWorker } from './workerProtocol.ts';

export interface WorkerSessionOptions extends SessionOptions {
  /** The worker script (tests swap it for a misbehaving one); default sessionWorker.ts. */
  workerUrl?: URL;
  /** How long release() waits for the worker to end on its own before terminating it (default 10 s). */
  releaseTimeoutMs?: number;
}

/** Beside this file, with its extension: .ts from the sources, .js from a compiled dist/ (bin/voicemood.js runs either). */
const WORKER_URL = new URL(`./sessionWorker${import.meta.url.endsWith('.js') ? '.js' : '.ts'}`, import.meta.url);

interface Running {
  resolve: (out: BatchOutputs) => void;
  reject: (e: unknown) => void;
}

/** One live worker: its thread, the batches it owes, and how it ended. */
class Thread {
  readonly worker: Worker;
  readonly opened: Promise<OpenedSession['optimizedCache']>;
  readonly exited: Promise<number>;
  readonly running = new Map<number, Running>();
  /** Unusable: it exited, or failed to open (and is ending). */
  dead = false;
  ended = false;
  releasing = false;

  constructor(url: URL, data: SessionWorkerData) {
    // The worker inherits Node's flags, but --input-type (`node --input-type=module -e …`) makes
    // it refuse its own file: then pass the others explicitly.
    const execArgv = process.execArgv.some((a) => a.startsWith('--input-type')) ? process.execArgv.filter((a) => !a.startsWith('--input-type')) : undefined;
    this.worker = new Worker(url, { workerData: data, execArgv });
    let opened!: (c: OpenedSession['optimizedCache']) => void;
    let openFailed!: (e: unknown) => void;
    this.opened = new Promise((resolve, reject) => {
      opened = resolve;
      openFailed = reject;
    });
    this.opened.catch(() => {}); // whoever waits for it gets the error; never an unhandled rejection
    let lastError: unknown;
    this.worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'opened':
          this.#idle();
          opened(m.optimizedCache);
          break;
        case 'open_failed':
          this.dead = true; // it ends on its own; the next batch starts another
          openFailed(fromWire(m.error));
          break;
        case 'result':
        case 'run_failed': {
          const r = this.running.get(m.id);
          this.running.delete(m.id);
          this.#idle();
          if (m.type === 'result') r?.resolve(m.out);
          else r?.reject(fromWire(m.error));
          break;
        }
        case 'released': // the thread ends next: 'exit'
          break;
      }
    });
    this.worker.on('error', (e: Error) => {
      lastError = e;
    });
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        this.dead = true;
        this.ended = true;
        const cause = lastError ?? new Error(`the inference thread exited with code ${code}`);
        openFailed(
          new VoicemoodError('internal', 'The emotion engine could not start: its inference thread stopped while loading the model.', {
            cause,
            details: { exitCode: code },
          }),
        );
        if (this.running.size > 0) {
          const err = new VoicemoodError('internal', 'The emotion engine stopped unexpectedly while analysing this audio; please send it again.', {
            cause,
            details: { exitCode: code },
          });
          for (const r of this.running.values()) r.reject(err);
          this.running.clear();
        }
        resolve(code);
      });
    });
  }

  /** Unref'd while idle: an idle engine must not keep the process alive. */
  #idle(): void {
    if (this.running.size === 0 && !this.releasing) this.worker.unref();
  }
}

export class WorkerRunner implements BatchRunner {
  readonly #url: URL;
  readonly #data: SessionWorkerData;
  readonly #releaseTimeoutMs: number;
  #thread: Thread;
  #nextId = 1;
  #releasing: Promise<void> | undefined;
  /** Workers started after one died (for tests and diagnostics). */
  respawns = 0;

  private constructor(url: URL, data: SessionWorkerData, releaseTimeoutMs: number) {
    this.#url = url;
    this.#data = data;
    this.#releaseTimeoutMs = releaseTimeoutMs;
    this.#thread = new Thread(url, data);
  }

  /** Whether an inference thread exists now (false once released, or after a crash until the next batch). */
  get threadAlive(): boolean {
    return !this.#thread.ended;
  }

  static async open(modelPath: string, options: WorkerSessionOptions = {}): Promise<OpenedSession & { runner: WorkerRunner }> {
    const { workerUrl, releaseTimeoutMs, ...sessionOptions } = options;
    const runner = new WorkerRunner(workerUrl ?? WORKER_URL, { modelPath, options: sessionOptions }, releaseTimeoutMs ?? 10_000);
    try {
      const optimizedCache = await runner.#thread.opened;
      return { runner, optimizedCache };
    } catch (e) {
      await runner.release();
      throw e;
    }
  }

  async run(waveform: Float32Array, lengths: BigInt64Array, rows: number, width: number, withFrames: boolean, frameEmbeddings = true): Promise<BatchOutputs> {
    if (this.#releasing) throw new VoicemoodError('internal', 'The emotion engine is closed.');
    if (this.#thread.dead) {
      this.#thread = new Thread(this.#url, this.#data);
      this.respawns++;
    }
    const thread = this.#thread;
    thread.worker.ref();
    await thread.opened; // at once unless the worker was just started again
    const id = this.#nextId++;
    const message: ToWorker = { type: 'run', id, waveform: movable(waveform), lengths: movable(lengths), rows, width, withFrames, frameEmbeddings };
    return new Promise<BatchOutputs>((resolve, reject) => {
      if (thread.dead) {
        reject(new VoicemoodError('internal', 'The emotion engine stopped unexpectedly while analysing this audio; please send it again.'));
        return;
      }
      thread.running.set(id, { resolve, reject });
      thread.worker.ref();
      thread.worker.postMessage(message, [message.waveform.buffer as ArrayBuffer, message.lengths.buffer as ArrayBuffer]);
    });
  }

  /** Releases the session and ends the thread (terminating it if it does not end in time). Idempotent. */
  release(): Promise<void> {
    this.#releasing ??= (async () => {
      const thread = this.#thread;
      if (thread.dead) {
        await thread.exited;
        return;
      }
      thread.releasing = true;
      thread.worker.ref(); // until it has ended
      // A worker still opening answers 'release' once open (it listens only then): wait for that.
      await thread.opened.catch(() => {});
      if (!thread.dead) thread.worker.postMessage({ type: 'release' } satisfies ToWorker);
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, this.#releaseTimeoutMs, 'timeout').unref());
      if ((await Promise.race([thread.exited, timeout])) === 'timeout') await thread.worker.terminate();
    })();
    return this.#releasing;
  }
}

/** The array itself when it owns its whole buffer (then moved to the worker), else a copy that does. */
function movable<T extends Float32Array | BigInt64Array>(a: T): T {
  const whole = a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
  return whole ? a : (a.slice() as T);
}

/** Opens `modelPath` in a new inference thread (see the top of this file). */
export function openWorkerSession(modelPath: string, options: WorkerSessionOptions = {}): Promise<OpenedSession & { runner: WorkerRunner }> {
  return WorkerRunner.open(modelPath, options);
}
