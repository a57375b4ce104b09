/**
 * Webhook mode: the route that hands Telegram's POSTs to grammY's webhookCallback (fastify
 * adapter), on a Fastify server shared with the web app (`npm start`: one server per process on
 * PORT) or on a small one of its own (webhook path and /healthz). Requests must carry the secret
 * token and go to the path of TELEGRAM_WEBHOOK_URL; everything else gets 401/404 without touching
 * the bot, and a wrong secret is refused before the body is read.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { webhookCallback, type Bot, type Context } from 'grammy';
import type { Logger } from '../../util/log.ts';

/** Telegram's updates are small JSON documents (a 4096-character text and its entities at most). */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

/**
 * The secret token used when TELEGRAM_WEBHOOK_SECRET is unset: without one, anyone who finds the
 * webhook URL could post forged updates (say, a /forget "from" any user id). Derived from the bot
 * token, so every instance behind a load balancer sets and checks the same one, and nobody without
 * the token can compute it. Base64url fits the allowed characters (A-Z a-z 0-9 _ -).
 */
export function derivedWebhookSecret(token: string): string {
  return createHmac('sha256', token).update('voicemood telegram webhook secret').digest('base64url');
}

/** A Fastify server not listening yet, shared with other routes (the web app's). */
export interface SharedWebhookServer {
  app: FastifyInstance;
  /** Starts listening (the first call; later calls share its outcome) and resolves with the bound port. */
  listen(): Promise<number>;
}

export interface WebhookRoute {
  /** From now on, posts get 503 (Telegram delivers them again later, perhaps to another instance). */
  close(): void;
}

export interface WebhookRouteOptions {
  /** The path of TELEGRAM_WEBHOOK_URL. */
  path: string;
  secret: string;
  logger: Logger;
}

function sameSecret(header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== 'string') return false;
  const a = Buffer.from(header);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Adds `POST path` to a server that is not listening yet. */
export function addWebhookRoute<C extends Context>(app: FastifyInstance, bot: Bot<C>, options: WebhookRouteOptions): WebhookRoute {
  const handle = webhookCallback(bot, 'fastify', { secretToken: options.secret, onTimeout: 'return' });
  let open = true;
  void app.register(async (scope) => {
    // The web app reads every body as raw audio bytes; in this scope only, updates are parsed as JSON.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: WEBHOOK_BODY_LIMIT }, scope.getDefaultJsonParser('error', 'error'));
    // Only Telegram reads these answers: a status and a word, not the web API's sentences about audio.
    scope.setErrorHandler((err, _request, reply) => {
      const code = (err as { statusCode?: unknown }).statusCode;
      const status = typeof code === 'number' && code >= 400 && code < 500 ? code : 500;
      if (status === 500) options.logger.error({ err }, 'telegram: webhook request failed');
      else options.logger.info({ status }, 'telegram: webhook request refused');
      return reply
        .code(status)
        .type('text/plain')
        .send(status === 500 ? 'internal error' : status === 413 ? 'too large' : 'bad request');
    });
    scope.post(
      options.path,
      {
        bodyLimit: WEBHOOK_BODY_LIMIT,
        // Forged posts are refused before their body is read (grammY checks the secret again).
        onRequest: async (request, reply) => {
          if (!sameSecret(request.headers['x-telegram-bot-api-secret-token'], options.secret))
            return reply.code(401).type('text/plain').send('secret token is wrong');
          if (!open) return reply.code(503).header('retry-after', '5').type('text/plain').send('shutting down');
          return undefined;
        },
      },
      async (request, reply) => {
        await handle(request, reply);
        return reply;
      },
    );
  });
  return {
    close() {
      open = false;
    },
  };
}

export interface WebhookServerOptions {
  url: string;
  secret: string;
  port: number;
  host: string;
  logger: Logger;
}

export interface WebhookServer {
  route: WebhookRoute;
  port: number;
  close(): Promise<void>;
}

/** A server of the bot's own (no web app in this process): the webhook path and `GET /healthz`. */
export async function startWebhookServer<C extends Context>(bot: Bot<C>, options: WebhookServerOptions): Promise<WebhookServer> {
  const app = Fastify({ logger: false });
  app.get('/healthz', async (_request, reply) => reply.type('text/plain').send('ok'));
  const route = addWebhookRoute(app, bot, { path: new URL(options.url).pathname, secret: options.secret, logger: options.logger });
  try {
    await app.listen({ port: options.port, host: options.host });
  } catch (e) {
    await app.close().catch(() => {});
    throw e;
  }
  const address = app.server.address();
  return { route, port: typeof address === 'object' && address ? address.port : options.port, close: () => app.close() };
}
