/**
 * The few Prometheus metrics of the web server (`GET /metrics`, text format via prom-client):
 * analyses by outcome (ok or the error code), the time one analysis takes (decode + inference),
 * and the event-loop lag. One registry per server, so that several servers in one process (tests)
 * do not share counters.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const RESOLUTION_MS = 20;

export interface WebMetrics {
  registry: Registry;
  /** Counts one finished analysis: 'ok' or the VoicemoodError code. */
  analysis(outcome: string, seconds?: number): void;
  close(): void;
}

export function createWebMetrics(): WebMetrics {
  const registry = new Registry();
  const analyses = new Counter({ name: 'voicemood_analyses_total', help: 'Analyses asked for over the API, by outcome (ok or the error code).', labelNames: ['outcome'], registers: [registry] });
  const seconds = new Histogram({
    name: 'voicemood_analysis_seconds',
    help: 'Seconds one successful analysis took (decode and inference).',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  new Gauge({
    name: 'voicemood_event_loop_lag_seconds',
    help: 'Event-loop delay since the previous scrape (p50, p99 and max).',
    labelNames: ['stat'],
    registers: [registry],
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
    analysis(outcome, s) {
      analyses.inc({ outcome });
      if (outcome === 'ok' && s !== undefined) seconds.observe(s);
    },
    close() {
      delay.disable();
    },
  };
}
