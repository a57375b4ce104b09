/**
 * Webhook mode: a node:http server that hands Telegram's POSTs to grammY's webhookCallback.
 * Requests must carry the secret token (TELEGRAM_WEBHOOK_SECRET) when one is set, and go to the
 * path of TELEGRAM_WEBHOOK_URL; everything else gets 404/401 without touching the bot.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { webhookCallback, type Bot } from 'grammy';
import type { Logger } from '../../util/log.ts';

/**
 * The secret token used when TELEGRAM_WEBHOOK_SECRET is unset: without one, anyone who finds the
 * webhook URL could post forged updates (say, a /forget "from" any user id). Derived from the bot
 * token, so every instance behind a load balancer sets and checks the same one, and nobody without
 * the token can compute it. Base64url fits the allowed characters (A-Z a-z 0-9 _ -).
 */
export function derivedWebhookSecret(token: string): string {
  return createHmac('sha256', token).update('voicemood telegram webhook secret').digest('base64url');
}

export interface WebhookServerOptions {
  url: string;
  secret: string | undefined;
  port: number;
  host: string;
  logger: Logger;
}

export async function startWebhookServer(bot: Bot, options: WebhookServerOptions): Promise<Server> {
  const path = new URL(options.url).pathname;
  // grammY answers 401 itself when the secret header does not match.
  const handle = webhookCallback(bot, 'http', { ...(options.secret ? { secretToken: options.secret } : {}), onTimeout: 'return' });
  const server = createServer((req, res) => {
    const reqPath = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && reqPath === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (req.method !== 'POST' || reqPath !== path) {
      res.writeHead(404).end();
      return;
    }
    handle(req, res).catch((e: unknown) => {
      options.logger.error({ err: e }, 'telegram: webhook request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}
