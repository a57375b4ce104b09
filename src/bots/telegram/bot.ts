/**
 * The grammY bot: maps Telegram updates to CommandContext, calls the platform-neutral commands of
 * src/commands and renders their replies (replies.ts). No mood logic lives here.
 *
 * One composer per concern (composers/): update de-duplication across instances, the text
 * commands, voice notes, chat migration, buttons. Each update's context carries the services and
 * the adapter's state as `ctx.voicemood` (flavour.ts). Voice analyses run in the background
 * (tracked by `inFlight`), so one slow note never holds up the next update, and shutdown can wait
 * for them.
 */
import { Bot, type Api } from 'grammy';
import type { Services } from '../../usecases/ports.ts';
import type { InFlight } from '../../state/inFlight.ts';
import { createAdapter } from './adapter.ts';
import { buttons } from './composers/buttons.ts';
import { commands, commandsComposer } from './composers/commands.ts';
import type { CommandEntry } from '../../commands/registry.ts';
import { migration } from './composers/migration.ts';
import { updateClaims } from './composers/updateClaims.ts';
import { voiceNotes } from './composers/voiceNotes.ts';
import type { TelegramBotOptions } from './config.ts';
import type { VoicemoodContext } from './flavour.ts';
import { retryTransformer } from './retry.ts';

export const DEFAULT_API_ROOT = 'https://api.telegram.org';

export interface TelegramBot {
  bot: Bot<VoicemoodContext>;
  inFlight: InFlight;
}

export function createTelegramBot(services: Services, options: TelegramBotOptions & { maxAnalyses?: number; registry?: readonly CommandEntry[] }): TelegramBot {
  const apiRoot = (options.apiRoot ?? DEFAULT_API_ROOT).replace(/\/+$/, '');
  const bot = new Bot<VoicemoodContext>(options.token, { client: { apiRoot } });
  bot.api.config.use(retryTransformer());
  const adapter = createAdapter(services, bot.api, { ...options, apiRoot });

  bot.use(async (ctx, next) => {
    ctx.voicemood = adapter;
    await next();
  });
  if (services.claims) bot.use(updateClaims(services.claims, options.token));
  // Tests pass a registry with one more entry to show that it is answered with no Telegram code.
  bot.use(options.registry ? commandsComposer(options.registry) : commands, voiceNotes, migration, buttons);

  bot.catch((err) => adapter.log.error({ err: err.error, updateId: err.ctx.update.update_id }, 'telegram: unhandled error in an update'));
  return { bot, inFlight: adapter.inFlight };
}

export type { Api };
