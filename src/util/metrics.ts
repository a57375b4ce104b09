/**
 * The Prometheus metrics of one process (`GET /metrics`, text format via prom-client), one registry
 * per process (tests that run several servers in one process make one each):
 *
 * - voicemood_analyses_total{platform, outcome}: analyses asked for, by platform (telegram, discord,
 *   web, voice_channel) and outcome (ok, or the VoicemoodError code: busy, rate_limited, too_short…);
 * - voicemood_busy_answers_total{platform}, voicemood_rate_limited_total{platform}: the refusals;
 * - voicemood_analysis_seconds: one successful analysis (decode and inference, per request);
 * - voicemood_inference_seconds: one engine batch (the session run), wherever the model runs;
 * - queue mode: voicemood_queue_depth / voicemood_queue_waiting (gateway), voicemood_queue_job_seconds
 *   (gateway: add → answer, by outcome), voicemood_queue_wait_seconds and voicemood_queue_jobs_total
 *   (worker: added → started, and jobs by outcome);
 * - event-loop lag (voicemood_event_loop_lag_seconds, since the previous scrape, and prom-client's
 *   nodejs_eventloop_lag_*) and the default process metrics.
 *
 * Callers outside the HTTP layer see only the small AnalysisMetrics hook (commands/types.ts).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const RESOLUTION_MS = 20;

export type Platform = 'telegram' | 'discord' | 'web' | 'voice_channel';

export interface Metrics {
  registry: Registry;
  /** Counts one finished analysis: 'ok' or the VoicemoodError code; `seconds` for 'ok'. */
  analysis(platform: string, outcome: string, seconds?: number): void;
  /** One engine batch (Engine's onBatch). */
  inferenceBatch(info: { rows: number; ms: number }): void;
  /** A gateway job answered (QueueEngine's onJob). */
  queueJob(report: { outcome: string; totalMs: number }): void;
  /** A worker job finished (startWorker's onJob). */
  workerJob(report: { outcome: string; waitMs: number; runMs: number }): void;
  /** Where the queue gauges read from (QueueEngine.stats). */
  watchQueue(stats: () => { depth: number; waiting: number }): void;
  close(): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const analyses = new Counter({
    name: 'voicemood_analyses_total',
    help: 'Analyses asked for, by platform and outcome (ok or the error code).',
    labelNames: ['platform', 'outcome'],
    registers,
  });
  const busy = new Counter({
    name: 'voicemood_busy_answers_total',
    help: 'Analyses answered "busy" (the engine or the queue was full), by platform.',
    labelNames: ['platform'],
    registers,
  });
  const limited = new Counter({
    name: 'voicemood_rate_limited_total',
    help: 'Analyses refused by a rate limit, by platform.',
    labelNames: ['platform'],
    registers,
  });
  const seconds = new Histogram({
    name: 'voicemood_analysis_seconds',
    help: 'Seconds one successful analysis took (decode and inference).',
    labelNames: ['platform'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const inference = new Histogram({
    name: 'voicemood_inference_seconds',
    help: 'Seconds one engine batch (a model session run) took.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const batchRows = new Counter({ name: 'voicemood_inference_clips_total', help: 'Clips run through the model (rows of all batches).', registers });
  const jobSeconds = new Histogram({
    name: 'voicemood_queue_job_seconds',
    help: 'Gateway: seconds from adding a job to its answer, by outcome.',
    labelNames: ['outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const waitSeconds = new Histogram({
    name: 'voicemood_queue_wait_seconds',
    help: 'Worker: seconds a job waited in the queue (added → started).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const workerJobs = new Counter({
    name: 'voicemood_queue_jobs_total',
    help: 'Worker: jobs run, by outcome (completed or failed).',
    labelNames: ['outcome'],
    registers,
  });
  let queueStats: (() => { depth: number; waiting: number }) | undefined;
  new Gauge({
    name: 'voicemood_queue_depth',
    help: 'Gateway: jobs waiting or running in the shared queue when this gateway last looked (0 without queue mode).',
    registers,
    collect() {
      this.set(queueStats?.().depth ?? 0);
    },
  });
  new Gauge({
    name: 'voicemood_queue_waiting',
    help: "Gateway: this gateway's jobs not answered yet.",
    registers,
    collect() {
      this.set(queueStats?.().waiting ?? 0);
    },
  });
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  new Gauge({
    name: 'voicemood_event_loop_lag_seconds',
    help: 'Event-loop delay since the previous scrape (p50, p99 and max).',
    labelNames: ['stat'],
    registers,
    collect() {
      // Nanoseconds of each sampling interval (RESOLUTION_MS long when the loop is idle): the lag is the excess.
      const ns = (x: number) => (Number.isFinite(x) ? Math.max(0, x / 1e9 - RESOLUTION_MS / 1000) : 0);
      this.set({ stat: 'p50' }, ns(delay.percentile(50)));
      this.set({ stat: 'p99' }, ns(delay.percentile(99)));
      this.set({ stat: 'max' }, ns(delay.max));
      delay.reset();
    },
  });
  return {
    registry,
    analysis(platform, outcome, s) {
      analyses.inc({ platform, outcome });
      if (outcome === 'busy') busy.inc({ platform });
      if (outcome === 'rate_limited') limited.inc({ platform });
      if (outcome === 'ok' && s !== undefined) seconds.observe({ platform }, s);
    },
    inferenceBatch({ rows, ms }) {
      inference.observe(ms / 1000);
      batchRows.inc(rows);
    },
    queueJob({ outcome, totalMs }) {
      jobSeconds.observe({ outcome }, totalMs / 1000);
    },
    workerJob({ outcome, waitMs }) {
      waitSeconds.observe(Math.max(0, waitMs) / 1000);
      workerJobs.inc({ outcome });
    },
    watchQueue(stats) {
      queueStats = stats;
    },
    close() {
      delay.disable();
    },
  };
}
