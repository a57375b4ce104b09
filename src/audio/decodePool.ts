/**
 * A small pool of worker threads that run decodes (decodeWorker.ts), so that the event loop never
 * waits for one: the bytes go in (moved when the caller allows, else copied once), the samples
 * come back moved, typed errors are rebuilt here. Its size is the one decode concurrency limit of
 * the process, shared by every platform (VOICEMOOD_DECODE_CONCURRENCY, default: the cores); more
 * decodes wait in order. Waiting and decoding each get the decode deadline (limits.timeoutMs): a
 * decode that waited that long for a worker is answered 'busy' (the load, not the file, is the
 * cause), one that ran that long 'timeout'; the caller's AbortSignal ends either. Idle workers do
 * not keep the process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { numberFromEnv, type Env } from '../util/config.ts';
import { VoicemoodError } from '../domain/errors.ts';
import { Deadline } from './deadline.ts';
import type { AudioLimits, DecodedAudio } from './types.ts';

/** What crosses to a worker besides the bytes. */
export interface WorkerDecodeOptions {
  filename?: string;
  mimeType?: string;
  limits: AudioLimits;
}

export type ToWorker = { type: 'decode'; id: number; bytes: Uint8Array; options: WorkerDecodeOptions; remainingMs: number } | { type: 'abort'; id: number };

export interface SerializedError {
  code: VoicemoodError['code'];
  message: string;
  details: Record<string, unknown>;
  retryAfterS?: number;
}

export type FromWorker = { id: number; ok: true; audio: DecodedAudio } | { id: number; ok: false; error: SerializedError };

export function decodeConcurrencyFromEnv(env: Env = process.env): number {
  return Math.floor(numberFromEnv(env, 'VOICEMOOD_DECODE_CONCURRENCY', availableParallelism(), { min: 1, max: 256 }));
}

export function rebuildError(e: SerializedError): VoicemoodError {
  return new VoicemoodError(e.code, e.message, { details: e.details, ...(e.retryAfterS !== undefined ? { retryAfterS: e.retryAfterS } : {}) });
}

interface Job {
  id: number;
  bytes: Uint8Array;
  transfer: boolean;
  options: WorkerDecodeOptions;
  signal: AbortSignal | undefined;
  /** Set when the job reaches a worker: the decode's own deadline starts then. */
  deadline?: Deadline;
  resolve(audio: DecodedAudio): void;
  reject(e: unknown): void;
  settled: boolean;
  slot?: Slot;
  /** Starts the decode's deadline (and its timer) as the job reaches a worker. */
  started(): Deadline;
  cleanup(): void;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

const WORKER_URL = new URL('./decodeWorker.ts', import.meta.url);

/** True when moving `bytes.buffer` moves exactly these bytes (and is allowed). */
function ownsBuffer(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

export class DecodePool {
  readonly size: number;
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('decode pool size must be a positive integer');
    this.size = size;
  }

  /** Decodes running now, and waiting for a worker. */
  get load(): { running: number; queued: number; workers: number } {
    let running = 0;
    for (const s of this.#slots) if (s.job) running++;
    return { running, queued: this.#queue.length, workers: this.#slots.size };
  }

  decode(bytes: Uint8Array, options: WorkerDecodeOptions, signal?: AbortSignal, transfer = false): Promise<DecodedAudio> {
    return new Promise<DecodedAudio>((resolve, reject) => {
      const timeoutMs = options.limits.timeoutMs;
      const early = new Deadline(timeoutMs, signal).error();
      if (early) return reject(early);
      if (this.#closed) return reject(new VoicemoodError('busy', 'The bot is shutting down; please send this again in a moment.', { retryAfterS: 5 }));
      const onAbort = () => this.#cancel(job, (job.deadline ?? new Deadline(timeoutMs, signal)).error());
      let timer = setTimeout(() => this.#cancel(job, busy(timeoutMs)), Math.max(0, timeoutMs));
      const job: Job = {
        id: this.#nextId++,
        bytes,
        transfer,
        options,
        signal,
        resolve,
        reject,
        settled: false,
        started: () => {
          clearTimeout(timer);
          const deadline = new Deadline(timeoutMs, signal);
          job.deadline = deadline;
          timer = setTimeout(() => this.#cancel(job, deadline.timeoutError()), Math.max(0, timeoutMs));
          return deadline;
        },
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(job);
      this.#pump();
    });
  }

  /** Stops every worker; decodes still queued or running fail as busy. */
  async close(): Promise<void> {
    this.#closed = true;
    const shutting = new VoicemoodError('busy', 'The bot is shutting down; please send this again in a moment.', { retryAfterS: 5 });
    for (const job of this.#queue.splice(0)) this.#settle(job, shutting);
    const slots = [...this.#slots];
    this.#slots.clear();
    this.#idle.length = 0;
    for (const s of slots) if (s.job) this.#settle(s.job, shutting);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #settle(job: Job, error: unknown, audio?: DecodedAudio): void {
    if (job.settled) return;
    job.settled = true;
    job.cleanup();
    if (audio) job.resolve(audio);
    else job.reject(error);
  }

  #cancel(job: Job, error: unknown): void {
    if (job.settled) return;
    this.#settle(job, error);
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) this.#queue.splice(queued, 1);
    // The worker stops at its next check and answers; only then does it take another job.
    else if (job.slot) job.slot.worker.postMessage({ type: 'abort', id: job.id } satisfies ToWorker);
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let slot = this.#idle.pop();
      if (!slot && this.#slots.size < this.size) {
        try {
          slot = this.#spawn();
        } catch (e) {
          const job = this.#queue.shift()!;
          this.#settle(job, new VoicemoodError('internal', 'Decoding could not start on our side.', { cause: e }));
          continue;
        }
      }
      if (!slot) return;
      this.#run(slot, this.#queue.shift()!);
    }
  }

  #run(slot: Slot, job: Job): void {
    slot.job = job;
    job.slot = slot;
    slot.worker.ref();
    const deadline = job.started();
    const send = (bytes: Uint8Array) => {
      const message: ToWorker = { type: 'decode', id: job.id, bytes, options: job.options, remainingMs: deadline.remainingMs };
      slot.worker.postMessage(message, [bytes.buffer as ArrayBuffer]);
    };
    try {
      // Moved when the caller allows it and the buffer may move (Node's Buffer pool may not), else
      // one copy of just these bytes (a Buffer's slice() would share its memory: not that).
      let moved = false;
      if (job.transfer && ownsBuffer(job.bytes)) {
        try {
          send(job.bytes);
          moved = true;
        } catch {
          // untransferable (DataCloneError): copy below
        }
      }
      if (!moved) send(new Uint8Array(job.bytes));
    } catch (e) {
      slot.job = undefined;
      job.slot = undefined;
      this.#settle(job, new VoicemoodError('internal', 'Decoding could not start on our side.', { cause: e }));
      slot.worker.unref();
      this.#idle.push(slot);
      return;
    }
    job.bytes = new Uint8Array(0);
  }

  #spawn(): Slot {
    // The worker inherits the process's flags, except --input-type (only an --eval/stdin main takes it).
    const inputType = process.execArgv.some((a) => a.startsWith('--input-type'));
    const worker = new Worker(WORKER_URL, inputType ? { execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')) } : {});
    const slot: Slot = { worker };
    worker.unref();
    worker.on('message', (msg: FromWorker) => {
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      slot.job = undefined;
      job.slot = undefined;
      if (msg.ok) this.#settle(job, undefined, msg.audio);
      else this.#settle(job, rebuildError(msg.error));
      worker.unref();
      if (this.#slots.has(slot)) this.#idle.push(slot);
      this.#pump();
    });
    const lost = (why: string) => {
      if (!this.#slots.delete(slot)) return;
      const i = this.#idle.indexOf(slot);
      if (i >= 0) this.#idle.splice(i, 1);
      if (slot.job) {
        this.#settle(slot.job, new VoicemoodError('undecodable', 'Decoding this audio failed on our side; please try again.', { details: { worker: why } }));
        slot.job = undefined;
      }
      this.#pump();
    };
    worker.on('error', (e) => lost(e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    this.#slots.add(slot);
    return slot;
  }
}

/** A decode that waited its whole deadline for a worker: too much voice at once, not a bad file. */
function busy(waitedMs: number): VoicemoodError {
  return new VoicemoodError('busy', 'Many voice notes are being decoded right now; please send this one again in a moment.', {
    retryAfterS: 10,
    details: { waitedMs },
  });
}

let shared: DecodePool | undefined;

/** The process's pool, sized by VOICEMOOD_DECODE_CONCURRENCY when first used. */
export function decodePool(): DecodePool {
  shared ??= new DecodePool(decodeConcurrencyFromEnv());
  return shared;
}

/** Stops the shared pool's workers (graceful shutdown; the next decode starts a new pool). */
export async function closeDecodePool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
