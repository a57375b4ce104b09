/**
 * The gateway side of queue mode: an EmotionEngine that loads no model and sends each analysis
 * as a BullMQ job to the inference workers (src/queue/worker.ts), through the Redis of
 * VOICEMOOD_QUEUE_URL.
 *
 *   analyze(samples) → SET voicemood:pcm:<job> (Float32 bytes, TTL) → add job <job> → wait
 *   a worker: GET pcm → the batching engine → SET voicemood:result:<job> (binary, TTL) → completed
 *   gateway: ONE shared QueueEvents listener → GETDEL the result → resolve the waiting call
 *
 * Every wait has a deadline (the caller's signal, else `waitMs`), so nothing hangs on a lost
 * event. A queue deeper than `maxDepth` (all gateways together) answers 'busy' at once, as the
 * in-process engine does when its queue is full. Failures come back typed (codec.ts).
 *
 * The model: workers publish their ModelInfo in Redis (MODEL_KEY) when they start; the gateway
 * reads it at open and again whenever a result names another model. Until a worker has started,
 * `model` is a stand-in whose id says so.
 *
 * Metrics: stats() gives counters and the last queue depth seen; `onJob` is called once per job
 * with its outcome and timings (a metrics module can turn these into Prometheus series).
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { VoicemoodError } from '../domain/errors.ts';
import { EMOTIONS } from '../domain/emotions.ts';
import type { AnalyzeOptions, EmotionEngine, EmotionResult, ModelInfo } from '../inference/types.ts';
import type { Logger } from '../util/log.ts';
import { decodeFailure, decodeResult, encodeSamples } from './codec.ts';
import { connected, MODEL_KEY, pcmKey, QUEUE_NAME, redisConnection, type QueueSettings } from './config.ts';

/** What the gateway puts in a job (small; the audio is in its own key). */
export interface AnalyzeJobData {
  /** Number of float32 samples under pcmKey(jobId). */
  samples: number;
  frames: boolean;
  /** When the gateway added it (ms since the epoch): workers log the queue wait. */
  addedAt: number;
}

/** What a worker returns (BullMQ stores it as JSON): where the binary result is. */
export interface AnalyzeJobReturn {
  resultKey: string;
  model: string;
}

export type JobOutcome = 'completed' | 'failed' | 'timeout' | 'aborted';

export interface JobReport {
  jobId: string;
  outcome: JobOutcome;
  /** From add to answer, ms. */
  totalMs: number;
  code?: string;
}

export interface QueueEngineStats {
  added: number;
  completed: number;
  failed: number;
  timedOut: number;
  aborted: number;
  busy: number;
  /** Jobs waiting or running when this gateway last looked (before each add). */
  depth: number;
  /** This gateway's jobs not answered yet. */
  waiting: number;
}

export interface QueueEngineOptions {
  settings: QueueSettings;
  logger: Logger;
  /** Longest wait for one job without a caller's signal, ms (default: the audio TTL). */
  waitMs?: number;
  onJob?: (report: JobReport) => void;
}

interface Waiting {
  resolve: (r: EmotionResult) => void;
  reject: (e: unknown) => void;
  added: number;
  cleanup: () => void;
}

const NO_WORKER_MODEL: ModelInfo = {
  labelsEn: [...EMOTIONS],
  labelsZh: [],
  sampleRate: 16000,
  frameRate: 50,
  embedDim: 0,
  sourceModel: 'queue',
  sourceRevision: '',
  checkpointSha256: '',
  converterVersion: '',
  quantization: 'fp32',
  convSpec: [],
  path: '',
  id: 'inference workers (none has started yet)',
};

export class QueueEngine implements EmotionEngine {
  readonly #settings: QueueSettings;
  readonly #log: Logger;
  readonly #redis: Redis;
  readonly #queue: Queue<AnalyzeJobData, AnalyzeJobReturn>;
  readonly #events: QueueEvents;
  readonly #waitMs: number;
  readonly #onJob: QueueEngineOptions['onJob'];
  readonly #waiting = new Map<string, Waiting>();
  #model: ModelInfo = NO_WORKER_MODEL;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  readonly #stats: QueueEngineStats = { added: 0, completed: 0, failed: 0, timedOut: 0, aborted: 0, busy: 0, depth: 0, waiting: 0 };

  readonly #eventsRedis: Redis;

  private constructor(options: QueueEngineOptions, redis: Redis, queue: Queue<AnalyzeJobData, AnalyzeJobReturn>, events: QueueEvents, eventsRedis: Redis) {
    this.#eventsRedis = eventsRedis;
    this.#settings = options.settings;
    this.#log = options.logger.child({ queue: QUEUE_NAME });
    this.#redis = redis;
    this.#queue = queue;
    this.#events = events;
    this.#waitMs = options.waitMs ?? options.settings.ttlS * 1000;
    this.#onJob = options.onJob;
    events.on('completed', ({ jobId, returnvalue }) => void this.#completed(jobId, returnvalue as unknown as AnalyzeJobReturn | string));
    events.on('failed', ({ jobId, failedReason }) => this.#failed(jobId, failedReason));
    // Redis down: one warning a minute, not one per reconnect attempt.
    let warned = 0;
    const warn = (e: unknown): void => {
      if (Date.now() - warned < 60_000) return;
      warned = Date.now();
      this.#log.warn({ err: e }, 'queue: Redis connection error (notes are answered busy until it is back)');
    };
    events.on('error', warn);
    queue.on('error', warn);
  }

  /** Connects to the queue's Redis and starts the one event listener; reads the workers' model. */
  static async open(options: QueueEngineOptions): Promise<QueueEngine> {
    const { url } = options.settings;
    const redis = redisConnection(url, 'gateway');
    redis.on('error', () => undefined); // reconnects on its own; failures surface as rejected commands
    try {
      await connected(redis, url);
    } catch (e) {
      redis.disconnect();
      throw e;
    }
    const queue = new Queue<AnalyzeJobData, AnalyzeJobReturn>(QUEUE_NAME, { connection: redis });
    const eventsRedis = redisConnection(url, 'gateway-events');
    eventsRedis.on('error', () => undefined);
    const events = new QueueEvents(QUEUE_NAME, { connection: eventsRedis });
    await events.waitUntilReady();
    const engine = new QueueEngine(options, redis, queue, events, eventsRedis);
    await engine.refreshModel();
    return engine;
  }

  /** The model the workers run (as they published it), or a stand-in until one has started. */
  get model(): ModelInfo {
    return this.#model;
  }

  /** Re-reads the model the workers published. */
  async refreshModel(): Promise<void> {
    const raw = await this.#redis.get(MODEL_KEY);
    if (!raw) return;
    try {
      this.#model = JSON.parse(raw) as ModelInfo;
    } catch {
      this.#log.warn('queue: the model info published in Redis cannot be read');
    }
  }

  load(): { inFlight: number; queued: number; capacity: number } {
    return { inFlight: this.#waiting.size, queued: 0, capacity: this.#settings.maxDepth };
  }

  /** Whether the queue's Redis is reachable now (for /healthz). */
  connected(): boolean {
    return this.#redis.status === 'ready';
  }

  stats(): QueueEngineStats {
    return { ...this.#stats, waiting: this.#waiting.size };
  }

  async analyze(samples: Float32Array, options: AnalyzeOptions = {}): Promise<EmotionResult> {
    if (this.#closing) throw new VoicemoodError('busy', 'The emotion engine is shutting down; please try again in a moment.', { retryAfterS: 5 });
    if (!(samples instanceof Float32Array)) throw new VoicemoodError('bad_input', 'Audio for the engine must be 16 kHz mono float32 samples.');
    for (let i = 0; i < samples.length; i++) {
      if (!Number.isFinite(samples[i])) throw new VoicemoodError('bad_input', 'The audio contains invalid (non-finite) samples.');
    }
    const { signal } = options;
    signal?.throwIfAborted();
    // Redis down: say so at once rather than wait for the reconnect until the request's deadline.
    if (this.#redis.status !== 'ready') {
      this.#stats.busy++;
      throw new VoicemoodError('busy', 'The analysis queue cannot be reached right now; please try again in a moment.', { retryAfterS: 10 });
    }
    // Redis commands wait for a reconnect: the caller's deadline (or ours) bounds that wait.
    const counts = await this.#bounded(this.#queue.getJobCounts('wait', 'active', 'prioritized', 'delayed'), signal);
    const depth = Object.values(counts).reduce((a, b) => a + b, 0);
    this.#stats.depth = depth;
    if (depth >= this.#settings.maxDepth) {
      this.#stats.busy++;
      throw new VoicemoodError('busy', 'I am analysing a lot of voice right now; please try again in a few seconds.', {
        retryAfterS: 10,
        details: { depth, capacity: this.#settings.maxDepth },
      });
    }
    const jobId = randomUUID();
    const added = Date.now();
    const answer = new Promise<EmotionResult>((resolve, reject) => {
      const timer = setTimeout(
        () => this.#settle(jobId, 'timeout', new VoicemoodError('timeout', 'The analysis took too long; please try again.', { details: { jobId } })),
        this.#waitMs,
      );
      timer.unref();
      const onAbort = (): void => {
        this.#settle(jobId, 'aborted', abortError(signal!));
        // Not taken yet: no worker needs to run it (a running job cannot be removed; it finishes and its result expires).
        void this.#queue.remove(jobId).catch(() => 0);
        void this.#redis.del(pcmKey(jobId)).catch(() => 0);
      };
      this.#waiting.set(jobId, {
        resolve,
        reject,
        added,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    if (!this.#waiting.has(jobId)) return answer; // aborted while the depth was read
    try {
      await this.#bounded(this.#redis.set(pcmKey(jobId), encodeSamples(samples), 'EX', this.#settings.ttlS), signal);
      await this.#bounded(
        this.#queue.add(
          'analyze',
          { samples: samples.length, frames: options.frames === true, addedAt: added },
          {
            jobId,
            attempts: this.#settings.attempts,
            backoff: { type: 'exponential', delay: this.#settings.backoffMs },
            removeOnComplete: true,
            removeOnFail: { age: 3600, count: 1000 },
          },
        ),
        signal,
      );
    } catch (e) {
      this.#settle(
        jobId,
        'failed',
        new VoicemoodError('busy', 'The analysis queue cannot be reached right now; please try again in a moment.', { retryAfterS: 10, cause: e }),
      );
      void this.#redis.del(pcmKey(jobId)).catch(() => 0);
      return answer;
    }
    this.#stats.added++;
    this.#log.info({ jobId, samples: samples.length, depth }, 'queue: job added');
    return answer;
  }

  /** A Redis call that gives up when `signal` aborts or after waitMs (the command itself may still run). */
  #bounded<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (e: VoicemoodError): void => {
        cleanup();
        reject(e);
      };
      const onAbort = (): void => fail(abortError(signal!));
      const timer = setTimeout(
        () => fail(new VoicemoodError('busy', 'The analysis queue cannot be reached right now; please try again in a moment.', { retryAfterS: 10 })),
        this.#waitMs,
      );
      timer.unref();
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => (cleanup(), resolve(v)),
        (e: unknown) => (cleanup(), reject(e)),
      );
    });
  }

  async #completed(jobId: string, returnvalue: AnalyzeJobReturn | string): Promise<void> {
    if (!this.#waiting.has(jobId)) return; // another gateway's job
    try {
      const ret = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as AnalyzeJobReturn;
      const bytes = await this.#redis.getdelBuffer(ret.resultKey);
      if (!bytes) throw new VoicemoodError('internal', 'The analysis result expired before it was read.', { details: { jobId } });
      const result = decodeResult(bytes);
      if (result.model !== this.#model.id) void this.refreshModel().catch(() => undefined);
      this.#settle(jobId, 'completed', undefined, result);
    } catch (e) {
      this.#settle(
        jobId,
        'failed',
        e instanceof VoicemoodError ? e : new VoicemoodError('internal', 'The analysis result could not be read.', { cause: e, details: { jobId } }),
      );
    }
  }

  #failed(jobId: string, failedReason: string): void {
    if (!this.#waiting.has(jobId)) return;
    this.#settle(jobId, 'failed', decodeFailure(failedReason));
  }

  #settle(jobId: string, outcome: JobOutcome, error: VoicemoodError | undefined, result?: EmotionResult): void {
    const w = this.#waiting.get(jobId);
    if (!w) return;
    this.#waiting.delete(jobId);
    w.cleanup();
    const totalMs = Date.now() - w.added;
    if (outcome === 'completed') this.#stats.completed++;
    else if (outcome === 'timeout') this.#stats.timedOut++;
    else if (outcome === 'aborted') this.#stats.aborted++;
    else this.#stats.failed++;
    this.#log.info({ jobId, outcome, totalMs, code: error?.code }, 'queue: job answered');
    this.#onJob?.({ jobId, outcome, totalMs, ...(error ? { code: error.code } : {}) });
    if (result) w.resolve(result);
    else w.reject(error);
    if (this.#drained && this.#waiting.size === 0) this.#drained();
  }

  /** Waits for this gateway's jobs to be answered (each has a deadline), then disconnects. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#waiting.size > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      // With Redis gone these would wait for a reconnect: bounded, then the sockets are dropped.
      const bounded = (p: Promise<unknown>): Promise<unknown> => Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
      await bounded(this.#events.close());
      await bounded(this.#queue.close());
      if (this.#redis.status === 'ready') await bounded(this.#redis.quit());
      this.#redis.disconnect();
      this.#eventsRedis.disconnect();
    })();
    return this.#closing;
  }
}

function abortError(signal: AbortSignal): VoicemoodError {
  const reason: unknown = signal.reason;
  return reason instanceof VoicemoodError ? reason : new VoicemoodError('timeout', 'The analysis was cancelled before it finished.', { cause: reason });
}
