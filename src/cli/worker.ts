/**
 * `voicemood worker` (also `npm run worker`): an inference worker of queue mode
 * (docs/scaling.md). Needs VOICEMOOD_QUEUE_URL; loads VOICEMOOD_MODEL (pulling the default model
 * on first use), runs analysis jobs until SIGTERM/SIGINT, then finishes the running jobs and exits 0.
 * A second signal exits at once (the jobs it held are taken over by another worker).
 */
import type { Command } from 'commander';
import type { Env } from '../config.ts';
import { createLogger, type Logger } from '../util/log.ts';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Run an inference worker: take analysis jobs from the Redis of VOICEMOOD_QUEUE_URL (queue mode) and answer them with VOICEMOOD_MODEL.')
    .addHelpText(
      'after',
      '\nEnvironment: VOICEMOOD_QUEUE_URL (required), VOICEMOOD_MODEL, VOICEMOOD_ENGINE_BATCH (jobs at once),\nVOICEMOOD_ENGINE_THREADS, VOICEMOOD_QUEUE_LOCK_MS, VOICEMOOD_QUEUE_STALLED_MS. See docs/scaling.md.',
    )
    .action(async () => {
      process.exitCode = await runWorker(process.env, createLogger({ name: 'voicemood-worker' }));
    });
}

export async function runWorker(env: Env, logger: Logger): Promise<number> {
  const say = (line: string): void => void process.stderr.write(`voicemood worker: ${line}\n`);
  const { workerSettings, startWorker } = await import('../queue/worker.ts');
  const { openEngine } = await import('../inference/engine.ts');
  const { createProgressReporter } = await import('../inference/download/progress.ts');
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
    engine = await openEngine({ env, onProgress: progress.handle });
  } finally {
    progress.stop();
  }
  let worker;
  try {
    worker = await startWorker({ settings, engine, logger, concurrency });
  } catch (e) {
    await engine.close();
    throw e;
  }
  say(`ready: model ${engine.model.id}, ${concurrency} jobs at once (pid ${process.pid})`);
  logger.info({ model: engine.model.id, concurrency }, 'worker ready');
  const signal = await stopped;
  say(`${signal}: taking no new job, finishing the running ones.`);
  await worker.stop();
  const s = worker.stats();
  say(`stopped after ${s.processed} jobs (${s.failed} failed attempts). bye.`);
  return 0;
}
