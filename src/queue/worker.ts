/**
 * `voicemood worker`: an inference worker of queue mode. Loads VOICEMOOD_MODEL once, publishes
 * its ModelInfo in Redis (MODEL_KEY) for the gateways, and runs analysis jobs with the batching
 * engine: up to VOICEMOOD_ENGINE_BATCH jobs at once, so that they share batches.
 *
 * Per job: read the audio (GET pcm key) → engine.analyze → SET the binary result with a TTL →
 * return its key. A clip the model cannot judge (too short, bad input, audio expired) fails at once
 * (UnrecoverableError: no retries); anything else is retried by BullMQ with backoff. A worker
 * killed mid-job leaves its job locked until the lock expires (VOICEMOOD_QUEUE_LOCK_MS); another
 * worker's stalled check (VOICEMOOD_QUEUE_STALLED_MS) then puts it back, and it runs again there.
 * stop() (SIGTERM/SIGINT) takes no new job, finishes the running ones, then releases the model.
 */
import { Worker, UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Env } from '../util/config.ts';
import { VoicemoodError, toVoicemoodError } from '../domain/errors.ts';
import type { EmotionEngine } from '../inference/types.ts';
import type { Logger } from '../util/log.ts';
import { decodeSamples, encodeFailure, encodeResult } from './codec.ts';
import { connected, MODEL_KEY, pcmKey, QUEUE_NAME, redisConnection, resultKey, type QueueSettings } from './config.ts';
import type { AnalyzeJobData, AnalyzeJobReturn } from './queueEngine.ts';

/** Failures that another attempt cannot fix. */
const FINAL_CODES = new Set(['bad_input', 'too_short', 'too_long', 'silent', 'undecodable', 'model_invalid']);

export interface WorkerStats {
  processed: number;
  failed: number;
  /** Jobs running now. */
  active: number;
}

export interface RunningWorker {
  engine: EmotionEngine;
  stats(): WorkerStats;
  /** Whether the queue's Redis is reachable now (for /healthz). */
  connected(): boolean;
  /** Takes no new job, finishes the running ones, releases the engine and Redis. */
  stop(): Promise<void>;
}

export interface StartWorkerOptions {
  settings: QueueSettings;
  engine: EmotionEngine;
  logger: Logger;
  /** Jobs run at once (default 8: VOICEMOOD_ENGINE_BATCH). */
  concurrency: number;
  /** Called after each job with its outcome; for metrics. */
  onJob?: (report: { jobId: string; outcome: 'completed' | 'failed'; waitMs: number; runMs: number; code?: string }) => void;
}

export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const { settings, engine } = options;
  const log = options.logger.child({ queue: QUEUE_NAME, worker: process.pid });
  const redis: Redis = redisConnection(settings.url, 'worker');
  redis.on('error', () => undefined);
  await connected(redis, settings.url);
  await redis.set(MODEL_KEY, JSON.stringify(engine.model));
  const stats: WorkerStats = { processed: 0, failed: 0, active: 0 };

  const processor = async (job: Job<AnalyzeJobData, AnalyzeJobReturn>): Promise<AnalyzeJobReturn> => {
    const jobId = job.id ?? '';
    const started = Date.now();
    const waitMs = started - job.data.addedAt;
    stats.active++;
    log.info({ jobId, attempt: job.attemptsMade + 1, waitMs }, 'worker: job started');
    try {
      const bytes = await redis.getBuffer(pcmKey(jobId));
      if (!bytes) throw new VoicemoodError('timeout', 'The voice note waited too long to be analysed; please send it again.');
      const samples = decodeSamples(bytes);
      if (!samples || samples.length !== job.data.samples) throw new VoicemoodError('bad_input', 'Audio for the engine must be 16 kHz mono float32 samples.');
      const result = await engine.analyze(samples, { frames: job.data.frames, frameEmbeddings: false });
      const key = resultKey(jobId);
      await redis.set(key, encodeResult(result), 'EX', settings.ttlS);
      await redis.del(pcmKey(jobId));
      stats.processed++;
      const runMs = Date.now() - started;
      log.info({ jobId, runMs, emotion: result.emotion }, 'worker: job done');
      options.onJob?.({ jobId, outcome: 'completed', waitMs, runMs });
      return { resultKey: key, model: result.model };
    } catch (e) {
      const err = toVoicemoodError(e);
      stats.failed++;
      options.onJob?.({ jobId, outcome: 'failed', waitMs, runMs: Date.now() - started, code: err.code });
      if (FINAL_CODES.has(err.code) || err.code === 'timeout') {
        log.info({ jobId, code: err.code }, 'worker: job refused (not retried)');
        await redis.del(pcmKey(jobId)).catch(() => 0);
        throw new UnrecoverableError(encodeFailure(err));
      }
      log.warn({ jobId, code: err.code, err: e, attempt: job.attemptsMade + 1 }, 'worker: job failed (retried while attempts remain)');
      throw new Error(encodeFailure(err), { cause: e });
    } finally {
      stats.active--;
    }
  };

  const jobsRedis = redisConnection(settings.url, 'worker-jobs');
  jobsRedis.on('error', () => undefined);
  const worker = new Worker<AnalyzeJobData, AnalyzeJobReturn>(QUEUE_NAME, processor, {
    connection: jobsRedis,
    concurrency: options.concurrency,
    lockDuration: settings.lockMs,
    stalledInterval: settings.stalledMs,
    maxStalledCount: 2,
  });
  let warned = 0;
  worker.on('error', (e) => {
    if (Date.now() - warned < 60_000) return; // Redis down: one warning a minute
    warned = Date.now();
    log.warn({ err: e }, 'worker: queue connection error');
  });
  worker.on('stalled', (jobId) => log.warn({ jobId }, 'worker: took over a stalled job (its worker stopped renewing the lock)'));
  await worker.waitUntilReady();

  let stopping: Promise<void> | undefined;
  return {
    engine,
    stats: () => ({ ...stats }),
    connected: () => redis.status === 'ready',
    stop() {
      stopping ??= (async () => {
        await worker.close(); // waits for the running jobs
        await engine.close();
        await redis.quit().catch(() => undefined);
        jobsRedis.disconnect();
      })();
      return stopping;
    },
  };
}

/** The worker's settings from the environment, for the CLI. */
export async function workerSettings(env: Env): Promise<{ settings: QueueSettings; concurrency: number }> {
  const { queueUrlFromEnv, queueSettingsFromEnv } = await import('./config.ts');
  const { engineOptionsFromEnv } = await import('../inference/engine.ts');
  const url = queueUrlFromEnv(env);
  if (!url) throw new VoicemoodError('bad_input', 'Set VOICEMOOD_QUEUE_URL=redis://host:port (the Redis the gateways send their jobs to) to run a worker.');
  return { settings: queueSettingsFromEnv(env, url), concurrency: engineOptionsFromEnv(env).maxBatch ?? 8 };
}
