/**
 * `voicemood worker` (also `npm run worker`): an inference worker of queue mode
 * (docs/scaling.md). Needs VOICEMOOD_QUEUE_URL; loads VOICEMOOD_MODEL (pulling the default model
 * on first use), runs analysis jobs until SIGTERM/SIGINT, then finishes the running jobs and exits 0.
 * A second signal exits at once (the jobs it held are taken over by another worker).
 *
 * With `--port` or PORT it serves /healthz and /metrics there (loopback unless VOICEMOOD_WEB_HOST
 * says otherwise); without either, none: several workers on one machine would otherwise compete
 * for one default port. A taken port is a warning, not a stop.
 */
import type { Command } from 'commander';
import type { Env } from '../util/config.ts';
import { VoicemoodError } from '../domain/errors.ts';
import { createLogger, type Logger } from '../util/log.ts';
import { createMetrics } from '../util/metrics.ts';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Run an inference worker: take analysis jobs from the Redis of VOICEMOOD_QUEUE_URL (queue mode) and answer them with VOICEMOOD_MODEL.')
    .addHelpText(
      'after',
      '\nEnvironment: VOICEMOOD_QUEUE_URL (required), VOICEMOOD_MODEL, VOICEMOOD_ENGINE_BATCH (jobs at once),\nVOICEMOOD_ENGINE_THREADS, VOICEMOOD_QUEUE_LOCK_MS, VOICEMOOD_QUEUE_STALLED_MS, PORT (/healthz and /metrics),\nVOICEMOOD_WEB_HOST (their address, default 127.0.0.1). See docs/scaling.md.',
    )
    .option('--port <port>', '/healthz and /metrics on this port (default: PORT; neither: not served)')
    .action(async (opts: { port?: string }) => {
      process.exitCode = await runWorker(process.env, createLogger({ name: 'voicemood-worker' }), opts);
    });
}

export async function runWorker(env: Env, logger: Logger, opts: { port?: string } = {}): Promise<number> {
  const say = (line: string): void => void process.stderr.write(`voicemood worker: ${line}\n`);
  const portText = opts.port ?? (env.PORT?.trim() || undefined);
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new VoicemoodError(
      'bad_input',
      `The port for /healthz and /metrics (--port or PORT) must be a whole number from 0 to 65535; got "${portText!.slice(0, 20)}".`,
    );
  }
  const metrics = createMetrics();
  const { workerSettings, startWorker } = await import('../queue/worker.ts');
  const { openEngine } = await import('../inference/engine.ts');
  const { createProgressReporter } = await import('./progress.ts');
  const { settings, concurrency } = await workerSettings(env);
  let stop: (signal: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      say(`${signal} again: exiting without finishing the running jobs (another worker takes them over).`);
      process.exit(130);
    }
    signalled = true;
    stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = createProgressReporter();
  let engine;
  try {
    engine = await openEngine({ env, onProgress: progress.handle, engine: { onBatch: (b) => metrics.inferenceBatch(b) } });
  } finally {
    progress.stop();
  }
  let worker;
  try {
    worker = await startWorker({ settings, engine, logger, concurrency, onJob: (r) => metrics.workerJob(r) });
  } catch (e) {
    await engine.close();
    throw e;
  }
  say(`ready: model ${engine.model.id}, ${concurrency} jobs at once (pid ${process.pid})`);
  logger.info({ model: engine.model.id, concurrency }, 'worker ready');
  let server: { url: string; close(): Promise<void> } | undefined;
  if (port !== undefined) {
    const running = worker;
    const { startWebServer } = await import('../web/server.ts');
    const host = env.VOICEMOOD_WEB_HOST?.trim() || '127.0.0.1';
    try {
      server = await startWebServer({
        engine,
        logger,
        env,
        host,
        port,
        api: false,
        say,
        metrics,
        health: () => ({ role: 'worker', queue: { connected: running.connected(), ...running.stats() } }),
      });
      say(`serving /healthz and /metrics on ${server.url}`);
    } catch (e) {
      say(`warning: /healthz and /metrics are not served (${e instanceof Error ? e.message : String(e)})`);
      logger.warn({ err: e }, 'the /healthz and /metrics server failed to start');
    }
  }
  const signal = await stopped;
  say(`${signal}: taking no new job, finishing the running ones.`);
  await server?.close();
  await worker.stop();
  metrics.close();
  const s = worker.stats();
  say(`stopped after ${s.processed} jobs (${s.failed} failed attempts). bye.`);
  return 0;
}
