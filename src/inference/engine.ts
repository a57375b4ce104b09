/**
 * The one shared emotion engine of a process.
 *
 * Requests wait in a bounded queue. When the session is free, the requests that arrived within a
 * short window are padded into one [B, N] batch (similar lengths together, see batcher.ts), run
 * once, and each request gets its own row back. A full queue answers 'busy' at once instead of
 * growing; queued requests can be aborted; close() answers everything accepted, then releases
 * the session.
 *
 * The session runs on its own thread (workerSession.ts): this thread keeps the queue, picks and
 * pads batches and slices answers, and only posts each padded batch to the inference thread, so
 * that a long run does not block the event loop (bots keep answering while a note is analysed).
 */
import { availableParallelism } from 'node:os';
import { cacheDir, numberFromEnv, type Env } from '../util/config.ts';
import { VoicemoodError, toVoicemoodError } from '../domain/errors.ts';
import { EMOTIONS, isEmotion, namedScores, topEmotion } from '../domain/emotions.ts';
import { ensureModel, type EnsureModelOptions } from './download/ensureModel.ts';
import { minSamplesFor, packBatch, pickBatch, type BatchLimits } from './batcher.ts';
import { readModelMetadata } from './onnx/metadata.ts';
import type { BatchOutputs, BatchRunner, OpenedSession } from './session.ts';
import { openWorkerSession } from './workerSession.ts';
import { type AnalyzeOptions, type EmotionEngine, type EmotionResult, type ModelInfo, type ModelMetadata } from './types.ts';
import { SAMPLE_RATE } from '../domain/audio.ts';

export interface EngineOptions {
  /** Requests in flight plus queued before 'busy' (default 64). */
  queueCapacity?: number;
  /** Rows per batch (default 8). */
  maxBatch?: number;
  /**
   * Padded audio per batch in seconds, B × longest clip (default 8). On CPU a batch computes no
   * faster per clip than single runs once clips are a few seconds long, while padding and
   * activation memory grow with it (bench, base int8, 16 clients with 3–7 s clips: 60 s → ~15
   * audio-s/s at 1.8 GB RSS, 8 s → ~18 at 0.56 GB); short clips still share a batch.
   */
  maxBatchSeconds?: number;
  /** How long the first request of a batch waits for company, in ms (default 5). */
  batchWindowMs?: number;
  /** See BatchLimits.maxPadRatio (default 1.5). */
  maxPadRatio?: number;
  /** Intra-op threads (default: every core). */
  threads?: number;
  /** Cache dir for the optimised graph (default: cacheDir()); false disables that cache. */
  optimizedCacheDir?: string | false;
  /**
   * Where the session runs: 'worker' (default), its own thread; 'main', this thread, blocking
   * the event loop for the length of every run (kept for comparisons: bench, stall test).
   */
  inferenceThread?: 'worker' | 'main';
  /** Called after every session run; for metrics and tests. */
  onBatch?: (info: { rows: number; width: number; ms: number }) => void;
}

/** Engine knobs from the environment (documented in the README, "The engine"). */
export function engineOptionsFromEnv(env: Env = process.env): EngineOptions {
  return {
    queueCapacity: numberFromEnv(env, 'VOICEMOOD_ENGINE_QUEUE', 64, { min: 1, max: 100_000 }),
    maxBatch: numberFromEnv(env, 'VOICEMOOD_ENGINE_BATCH', 8, { min: 1, max: 256 }),
    maxBatchSeconds: numberFromEnv(env, 'VOICEMOOD_ENGINE_BATCH_SECONDS', 8, { min: 1, max: 3600 }),
    batchWindowMs: numberFromEnv(env, 'VOICEMOOD_ENGINE_WINDOW_MS', 5, { min: 0, max: 1000 }),
    threads: numberFromEnv(env, 'VOICEMOOD_ENGINE_THREADS', availableParallelism(), { min: 1, max: 1024 }),
    optimizedCacheDir: env.VOICEMOOD_ENGINE_OPT_CACHE === '0' ? false : cacheDir(env),
  };
}

interface Pending {
  samples: Float32Array;
  frames: boolean;
  /** With frames: the frame embeddings too. */
  frameEmbeddings: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve: (r: EmotionResult) => void;
  reject: (e: unknown) => void;
}

export function modelInfo(path: string, meta: ModelMetadata): ModelInfo {
  const id = meta.quantization === 'int8' ? `${meta.sourceModel} (int8)` : meta.sourceModel;
  return { ...meta, path, id };
}

/**
 * Index in the model's outputs of each of our EMOTIONS. Model label order may differ, and a model
 * may carry extra masked `unuse*` labels (always scored 0), which are left out of answers.
 */
function labelOrder(meta: ModelMetadata, path: string): number[] {
  const index = EMOTIONS.map((e) => meta.labelsEn.indexOf(e));
  const unknown = meta.labelsEn.filter((l) => !isEmotion(l) && !l.startsWith('unuse'));
  if (index.some((i) => i < 0) || unknown.length > 0) {
    throw new VoicemoodError(
      'model_invalid',
      `${path} has labels voicemood does not know (${meta.labelsEn.join(', ')}); expected the nine emotion2vec+ labels.`,
      {
        details: { labels: meta.labelsEn },
      },
    );
  }
  return index;
}

export class Engine implements EmotionEngine {
  readonly model: ModelInfo;
  /** The optimised-graph cache file of this session and whether it was reused (set by open()). */
  optimizedCache: { path: string; hit: boolean } | undefined;
  readonly #runner: BatchRunner;
  readonly #limits: BatchLimits;
  readonly #capacity: number;
  readonly #windowMs: number;
  readonly #minSamples: number;
  readonly #order: number[];
  readonly #onBatch: EngineOptions['onBatch'];
  #queue: Pending[] = [];
  #inFlight = 0;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  /** Smoothed milliseconds per batch, for retryAfterS. */
  #batchMs = 0;

  constructor(model: ModelInfo, runner: BatchRunner, options: EngineOptions = {}) {
    this.model = model;
    this.#runner = runner;
    this.#order = labelOrder(model, model.path);
    this.#capacity = options.queueCapacity ?? 64;
    this.#windowMs = options.batchWindowMs ?? 5;
    this.#onBatch = options.onBatch;
    this.#minSamples = minSamplesFor(model.convSpec);
    this.#limits = {
      maxBatch: options.maxBatch ?? 8,
      maxPaddedSamples: Math.round((options.maxBatchSeconds ?? 8) * model.sampleRate),
      maxPadRatio: options.maxPadRatio ?? 1.5,
      padSlackSamples: model.sampleRate, // padding short clips by up to a second costs little
    };
  }

  /** Opens a converted model file: reads its metadata, checks it, loads the session. */
  static async open(path: string, options: EngineOptions = {}): Promise<Engine> {
    const meta = await readModelMetadata(path);
    if (meta.sampleRate !== SAMPLE_RATE) {
      throw new VoicemoodError('model_invalid', `${path} expects ${meta.sampleRate} Hz audio; voicemood feeds ${SAMPLE_RATE} Hz.`);
    }
    const cache = options.optimizedCacheDir === undefined ? cacheDir() : options.optimizedCacheDir || undefined;
    const sessionOptions = { threads: options.threads, cacheDir: cache };
    const { runner, optimizedCache }: OpenedSession =
      options.inferenceThread === 'main'
        ? await (await import('./session.ts')).openSession(path, sessionOptions)
        : await openWorkerSession(path, sessionOptions);
    let engine: Engine;
    try {
      engine = new Engine(modelInfo(path, meta), runner, options);
    } catch (e) {
      await runner.release(); // labels we do not know: do not leave the session (and its thread) behind
      throw e;
    }
    engine.optimizedCache = optimizedCache;
    return engine;
  }

  load(): { inFlight: number; queued: number; capacity: number } {
    return { inFlight: this.#inFlight, queued: this.#queue.length, capacity: this.#capacity };
  }

  analyze(samples: Float32Array, options: AnalyzeOptions = {}): Promise<EmotionResult> {
    if (this.#closing) {
      return Promise.reject(new VoicemoodError('busy', 'The emotion engine is shutting down; please try again in a moment.', { retryAfterS: 5 }));
    }
    if (!(samples instanceof Float32Array)) {
      return Promise.reject(new VoicemoodError('bad_input', 'Audio for the engine must be 16 kHz mono float32 samples.'));
    }
    if (samples.length < this.#minSamples) {
      return Promise.reject(
        new VoicemoodError(
          'too_short',
          `This clip is too short to judge: it needs at least ${(this.#minSamples / this.model.sampleRate).toFixed(3)} s of audio.`,
          {
            details: { samples: samples.length },
          },
        ),
      );
    }
    for (let i = 0; i < samples.length; i++) {
      if (!Number.isFinite(samples[i])) return Promise.reject(new VoicemoodError('bad_input', 'The audio contains invalid (non-finite) samples.'));
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#queue.length + this.#inFlight >= this.#capacity) {
      return Promise.reject(
        new VoicemoodError('busy', 'I am analysing a lot of voice right now; please try again in a few seconds.', {
          retryAfterS: this.#retryAfterS(),
          details: this.load(),
        }),
      );
    }
    return new Promise<EmotionResult>((resolve, reject) => {
      const pending: Pending = {
        samples,
        frames: options.frames === true,
        frameEmbeddings: options.frameEmbeddings !== false,
        signal,
        onAbort: undefined,
        resolve,
        reject,
      };
      if (signal) {
        pending.onAbort = () => {
          const i = this.#queue.indexOf(pending);
          if (i >= 0) {
            this.#queue.splice(i, 1);
            reject(abortError(signal));
            this.#settleIfDrained();
          }
        };
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.#queue.push(pending);
      this.#schedule();
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#queue.length > 0 || this.#running) {
        await new Promise<void>((resolve) => {
          this.#drained = resolve;
          if (this.#timer) {
            // Do not wait out the batching window on shutdown.
            clearTimeout(this.#timer);
            this.#timer = undefined;
            void this.#runNext();
          }
        });
      }
      await this.#runner.release();
    })();
    return this.#closing;
  }

  #retryAfterS(): number {
    const batchesAhead = Math.ceil((this.#queue.length + this.#inFlight) / this.#limits.maxBatch) + 1;
    return Math.max(1, Math.ceil(((this.#batchMs || 1000) * batchesAhead) / 1000));
  }

  #schedule(): void {
    if (this.#running || this.#timer || this.#queue.length === 0) return;
    if (this.#windowMs <= 0 || this.#closing) {
      setImmediate(() => void this.#runNext());
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#runNext();
    }, this.#windowMs);
  }

  #settleIfDrained(): void {
    if (this.#drained && this.#queue.length === 0 && !this.#running) {
      this.#drained();
      this.#drained = undefined;
    }
  }

  async #runNext(): Promise<void> {
    if (this.#running || this.#queue.length === 0) {
      this.#settleIfDrained();
      return;
    }
    this.#running = true;
    const picked = pickBatch(
      this.#queue.map((p) => p.samples.length),
      this.#limits,
    );
    const batch = picked.map((i) => this.#queue[i]);
    const taken = new Set(picked);
    this.#queue = this.#queue.filter((_, i) => !taken.has(i));
    for (const p of batch) if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    this.#inFlight = batch.length;
    const packed = packBatch(batch.map((p) => p.samples));
    const withFrames = batch.some((p) => p.frames);
    // The [B, T, D] frame embeddings only when a row wants them: not fetched, moved nor sliced else.
    const frameEmbeddings = batch.some((p) => p.frames && p.frameEmbeddings);
    const started = performance.now();
    try {
      const out = await this.#runner.run(packed.waveform, packed.lengths, packed.rows, packed.width, withFrames, frameEmbeddings);
      const ms = performance.now() - started;
      this.#batchMs = this.#batchMs === 0 ? ms : 0.8 * this.#batchMs + 0.2 * ms;
      this.#onBatch?.({ rows: packed.rows, width: packed.width, ms });
      batch.forEach((p, row) => {
        try {
          p.resolve(this.#result(out, row, batch.length, p));
        } catch (e) {
          p.reject(toVoicemoodError(e));
        }
      });
    } catch (e) {
      const err = isModelError(e) ? e : new VoicemoodError('internal', 'The emotion model failed on this audio.', { cause: e });
      for (const p of batch) p.reject(err);
    } finally {
      this.#inFlight = 0;
      this.#running = false;
      if (this.#queue.length > 0)
        setImmediate(() => void this.#runNext()); // they already waited
      else this.#settleIfDrained();
    }
  }

  /** One row of a batch's outputs as the answer to one request. */
  #result(out: BatchOutputs, row: number, rows: number, p: Pending): EmotionResult {
    const labels = this.model.labelsEn.length;
    const d = out.embedding.length / rows;
    const modelScores = out.scores.subarray(row * labels, (row + 1) * labels);
    const modelLogits = out.logits.subarray(row * labels, (row + 1) * labels);
    const scores = namedScores(this.#order.map((i) => modelScores[i]));
    const { emotion, confidence } = topEmotion(scores);
    const result: EmotionResult = {
      emotion,
      confidence,
      scores,
      logits: this.#order.map((i) => modelLogits[i]),
      embedding: out.embedding.slice(row * d, (row + 1) * d),
      durationS: p.samples.length / this.model.sampleRate,
      model: this.model.id,
    };
    if (p.frames && out.frameScores && (out.frames || !p.frameEmbeddings)) {
      const t = out.frameCount;
      const count = Number(out.frameLengths[row]);
      const n = EMOTIONS.length;
      const fs = new Float32Array(count * n);
      const rowScores = out.frameScores.subarray(row * t * labels, (row * t + count) * labels);
      for (let f = 0; f < count; f++) for (let k = 0; k < n; k++) fs[f * n + k] = rowScores[f * labels + this.#order[k]];
      result.frames = { count, dim: d, frameRate: this.model.frameRate, scores: fs };
      if (p.frameEmbeddings && out.frames) result.frames.embeddings = out.frames.slice(row * t * d, (row * t + count) * d);
    }
    if (p.signal?.aborted) throw abortError(p.signal);
    return result;
  }
}

function isModelError(e: unknown): e is VoicemoodError {
  return e instanceof VoicemoodError;
}

function abortError(signal: AbortSignal): VoicemoodError {
  const reason: unknown = signal.reason;
  if (reason instanceof VoicemoodError) return reason;
  return new VoicemoodError('timeout', 'The analysis was cancelled before it finished.', { cause: reason });
}

export interface OpenEngineOptions extends EnsureModelOptions {
  /** Engine knobs; defaults come from the environment (engineOptionsFromEnv). */
  engine?: EngineOptions;
}

/**
 * The usual way to get the engine: resolves VOICEMOOD_MODEL (or `model`) through the model store,
 * pulling the published model on first use with progress on `onProgress`, then opens it.
 */
export async function openEngine(options: OpenEngineOptions = {}): Promise<Engine> {
  const env = options.env ?? process.env;
  const path = await ensureModel({ ...options, env });
  return Engine.open(path, { ...engineOptionsFromEnv(env), ...options.engine });
}
