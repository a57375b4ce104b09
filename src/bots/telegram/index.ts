/**
 * Starts the Telegram bot: long polling by default, webhook mode when TELEGRAM_WEBHOOK_URL is set
 * (its route on the server passed in `server`, else on a server of its own). `stop()` stops taking
 * updates, then waits for the analyses in flight.
 */
import { GrammyError, type Bot } from 'grammy';
import { VoicemoodError } from '../../domain/errors.ts';
import type { Services } from '../../usecases/ports.ts';
import { createTelegramBot } from './bot.ts';
import { menuRegistrations } from './commandMenu.ts';
import type { TelegramStartOptions } from './config.ts';
import type { VoicemoodContext } from './flavour.ts';
import { addWebhookRoute, derivedWebhookSecret, startWebhookServer, type SharedWebhookServer } from './webhook.ts';
import { registerSecret } from '../../util/log.ts';

export type { TelegramStartOptions } from './config.ts';

export interface RunningBot {
  /** Stops taking updates and finishes the analyses in flight. */
  stop(): Promise<void>;
  /** "long polling" or "webhook on port N". */
  mode: string;
  /** The bot's @username. */
  username: string;
  /** Resolves with a reason when the bot stops taking updates on its own (never in webhook mode). */
  failed?: Promise<string>;
}

export interface TelegramStartExtras {
  /** Webhook mode only: add the webhook route to this server (shared with the web app) instead of starting one. */
  server?: SharedWebhookServer;
}

export async function startTelegramBot(services: Services, options: TelegramStartOptions & TelegramStartExtras): Promise<RunningBot> {
  const { bot, inFlight } = createTelegramBot(services, options);
  const log = services.logger.child({ platform: 'telegram' });
  try {
    await bot.init(); // getMe: fails fast on a wrong token
  } catch (e) {
    if (e instanceof GrammyError && e.error_code === 401) {
      throw new VoicemoodError('bad_input', 'Telegram refused the token (TELEGRAM_BOT_TOKEN): check it with @BotFather (/mybots → API Token).', { cause: e });
    }
    throw new VoicemoodError('internal', `Telegram's Bot API could not be reached (${e instanceof Error ? e.message : String(e)}).`, { cause: e });
  }
  await registerCommands(bot).catch((e: unknown) => log.warn({ err: e }, 'telegram: setMyCommands failed (the menu may be missing)'));

  if (options.webhookUrl) {
    const secret = options.webhookSecret ?? derivedWebhookSecret(options.token);
    registerSecret(secret);
    // Listening before setWebhook: Telegram posts pending updates right away.
    let route, port: number, closeServer: (() => Promise<void>) | undefined;
    if (options.server) {
      route = addWebhookRoute(options.server.app, bot, { path: new URL(options.webhookUrl).pathname, secret, logger: log });
      port = await options.server.listen();
    } else {
      const own = await startWebhookServer(bot, { url: options.webhookUrl, secret, port: options.port ?? 8080, host: options.host ?? '0.0.0.0', logger: log });
      ({ route, port } = own);
      closeServer = () => own.close();
    }
    try {
      await bot.api.setWebhook(options.webhookUrl, { secret_token: secret, allowed_updates: ['message', 'callback_query'] });
    } catch (e) {
      // Telegram checks the URL itself (HTTPS, a port of 443, 80, 88 or 8443, a resolvable host):
      // say what it said, and free the port (our own server), since no update will ever come.
      route.close();
      await closeServer?.();
      const why = e instanceof GrammyError ? e.description : e instanceof Error ? e.message : String(e);
      throw new VoicemoodError('bad_input', `Telegram refused TELEGRAM_WEBHOOK_URL (${why}).`, { cause: e });
    }
    return {
      mode: `webhook on port ${port}`,
      username: bot.botInfo.username,
      async stop() {
        route.close();
        await closeServer?.();
        await inFlight.drain();
      },
    };
  }

  // bot.start() removes a webhook left from an earlier webhook run (deleteWebhook) before polling.
  let stopping = false;
  let reportFailure: (reason: string) => void = () => {};
  const failed = new Promise<string>((resolve) => (reportFailure = resolve));
  const polling = bot.start({ allowed_updates: ['message', 'callback_query'], drop_pending_updates: false }).then(
    () => {
      if (!stopping) reportFailure('long polling ended');
    },
    (e: unknown) => {
      log.error({ err: e }, 'telegram: long polling stopped with an error');
      // 401: the token was revoked; 409: another process polls with the same token.
      const code = e instanceof GrammyError ? e.error_code : undefined;
      reportFailure(
        code === 409
          ? 'another instance is polling with the same token (409 Conflict)'
          : code === 401
            ? 'Telegram no longer accepts the token (401)'
            : 'long polling failed',
      );
    },
  );
  return {
    mode: 'long polling',
    failed,
    username: bot.botInfo.username,
    async stop() {
      stopping = true;
      if (bot.isRunning()) await bot.stop().catch((e: unknown) => log.warn({ err: e }, 'telegram: stopping polling failed'));
      await polling;
      await inFlight.drain();
    },
  };
}

async function registerCommands(bot: Bot<VoicemoodContext>): Promise<void> {
  for (const { commands, language_code } of menuRegistrations()) await bot.api.setMyCommands(commands, language_code ? { language_code } : undefined);
}
