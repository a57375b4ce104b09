/**
 * Starts the web app on a host and port (used by `voicemood web` and by `npm start`), and says
 * so; warns when the API is reachable beyond this machine without keys.
 */
import type { FastifyInstance } from 'fastify';
import { numberFromEnv, type Env } from '../util/config.ts';
import { VoicemoodError } from '../domain/errors.ts';
import type { EmotionEngine } from '../inference/types.ts';
import type { Logger } from '../util/log.ts';
import type { Metrics } from '../util/metrics.ts';
import { buildWebApp } from './app.ts';

export interface WebServerOptions {
  engine: EmotionEngine | undefined;
  logger: Logger;
  env?: Env;
  host?: string;
  port?: number;
  page?: boolean;
  /** The REST API and the page (default true); false: /healthz and /metrics only (see buildWebApp). */
  api?: boolean;
  /** The process's metrics and extra /healthz fields (see buildWebApp). */
  metrics?: Metrics;
  health?: () => Record<string, unknown>;
  /** Where start-up lines go (default: stderr, prefixed "voicemood: "). */
  say?: (line: string) => void;
}

export interface WebServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The port of `voicemood web` and `npm start`: PORT, else 8080. */
export function webPortFromEnv(env: Env): number {
  return numberFromEnv(env, 'PORT', 8080, { min: 0, max: 65535 });
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * A web server built but not listening yet, so that other routes (the Telegram webhook's) can join
 * it first: one server per process. `listen()` binds once; later calls share its outcome.
 */
export interface PreparedWebServer {
  app: FastifyInstance;
  listen(): Promise<WebServer>;
}

export function prepareWebServer(options: WebServerOptions): PreparedWebServer {
  const env = options.env ?? process.env;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? webPortFromEnv(env);
  const say = options.say ?? ((line: string) => process.stderr.write(`voicemood: ${line}\n`));
  const { app, apiKeys } = buildWebApp({
    engine: options.engine,
    logger: options.logger,
    env,
    page: options.page,
    api: options.api,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.health ? { health: options.health } : {}),
  });
  let listening: Promise<WebServer> | undefined;
  const listen = async (): Promise<WebServer> => {
    try {
      await app.listen({ host, port });
    } catch (e) {
      await app.close().catch(() => {});
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'EADDRINUSE'
          ? `port ${port} is already in use (set PORT or --port)`
          : code === 'EACCES'
            ? `port ${port} needs privileges (use one above 1023)`
            : `cannot listen on ${host}:${port}`;
      throw new VoicemoodError('bad_input', `The web server could not start: ${why}.`, { cause: e });
    }
    const address = app.server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    const shown = host.includes(':') ? `[${host}]` : host;
    if (options.api !== false && !apiKeys.required && !isLoopback(host)) {
      say(`warning: the API on ${host} is open to anyone who can reach it; set VOICEMOOD_API_KEYS to require keys.`);
      options.logger.warn({ host }, 'web: API reachable beyond loopback without keys');
    }
    return { app, url: `http://${shown}:${bound}`, port: bound, close: () => app.close() };
  };
  return { app, listen: () => (listening ??= listen()) };
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  return prepareWebServer(options).listen();
}
