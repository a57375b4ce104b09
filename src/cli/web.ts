/**
 * `voicemood web`: serves the page, the REST API, /healthz and /metrics on one port until
 * SIGINT/SIGTERM, then stops taking requests, finishes the analyses in flight and exits 0.
 */
import { Command } from 'commander';
import { VoicemoodError } from '../domain/errors.ts';
import { createProgressReporter } from './progress.ts';
import { openQueueOrEngine } from '../services.ts';
import { createMetrics } from '../util/metrics.ts';
import type { EmotionEngine } from '../inference/types.ts';
import { createLogger } from '../util/log.ts';
import { startWebServer, webPortFromEnv } from '../web/server.ts';

interface WebCliOptions {
  port?: string;
  host: string;
  model?: string;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new VoicemoodError('bad_input', `--port must be a whole number from 0 to 65535; got "${value}".`);
  return n;
}

export async function runWeb(opts: WebCliOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const port = opts.port === undefined ? webPortFromEnv(env) : parsePort(opts.port);
  const logger = createLogger();
  const metrics = createMetrics();
  const progress = createProgressReporter();
  let engine: EmotionEngine;
  try {
    // Queue mode (VOICEMOOD_QUEUE_URL): no model here, the analyses go to `voicemood worker`s.
    if (opts.model && env.VOICEMOOD_QUEUE_URL?.trim())
      process.stderr.write("voicemood: --model is ignored in queue mode: the workers' VOICEMOOD_MODEL decides.\n");
    engine = await openQueueOrEngine(env, logger, progress.handle, opts.model, metrics);
  } finally {
    progress.stop();
  }
  let server;
  try {
    server = await startWebServer({ engine, logger, env, host: opts.host, port, metrics });
  } catch (e) {
    await engine.close();
    throw e;
  }
  process.stderr.write(`voicemood: model: ${engine.model.id}\nvoicemood: web: serving ${server.url} (page, API at /api/v1, /healthz, /metrics)\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write(`voicemood: ${signal}: stopping — no new requests, finishing analyses in flight.\n`);
  await server.close();
  await engine.close();
  process.stderr.write('voicemood: bye.\n');
}

export function registerWeb(program: Command): void {
  program
    .command('web')
    .description('Serve the web page and the REST API (POST /api/v1/analyze), /healthz and /metrics.')
    .option('-p, --port <port>', 'port to listen on (default: PORT, else 8080)')
    .option('--host <host>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('-m, --model <model>', 'a converted .onnx file or a published model id (default: VOICEMOOD_MODEL)')
    .action(async (opts: WebCliOptions) => runWeb(opts));
}
