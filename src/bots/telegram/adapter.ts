/** Builds what `ctx.voicemood` carries (flavour.ts): the services and the adapter's state, once per bot. */
import type { Api } from 'grammy';
import { errorReply, resolveLang } from '../../commands/common.ts';
import type { CommandContext } from '../../commands/types.ts';
import type { Services } from '../../usecases/ports.ts';
import { toVoicemoodError } from '../../domain/errors.ts';
import type { Lang } from '../../domain/emotions.ts';
import { BusyCounter, InFlight } from '../../state/inFlight.ts';
import { MemoryTimelineStore, SharedTimelineStore, type TimelineStore } from '../../state/timelines.ts';
import { AnalysedNotes } from './analysedNotes.ts';
import type { TelegramBotOptions } from './config.ts';
import { commandContext } from './context.ts';
import type { TelegramAdapter } from './flavour.ts';
import { deliver, type TelegramTimeline } from './replies.ts';
import { telegramStrings } from './strings.ts';

/** Redis keys of the shared timelines (several instances on one Redis). */
export const TIMELINE_PREFIX = 'voicemood:tg:tl:';

export interface AdapterOptions extends TelegramBotOptions {
  apiRoot: string;
  maxAnalyses?: number;
}

export function createAdapter(services: Services, api: Api, options: AdapterOptions): TelegramAdapter {
  const log = services.logger.child({ platform: 'telegram' });
  const epochOf = (userId: string): number => services.history.forgetEpoch('telegram', userId);
  // Several instances on one Redis: the tap on a card's button may reach another instance.
  const timelines: TimelineStore<TelegramTimeline> =
    services.sharedKv && services.claims
      ? new SharedTimelineStore(services.sharedKv, services.claims, { prefix: TIMELINE_PREFIX, epochOf })
      : new MemoryTimelineStore({ capacity: 2000, epochOf });
  const replies = { api, timelines, logger: log };
  const replyLang = (cctx: CommandContext): Promise<Lang> => resolveLang(cctx, services).catch(() => cctx.lang);
  return {
    services,
    api,
    log,
    replies,
    timelines,
    notes: new AnalysedNotes({ clock: services.clock }),
    inFlight: new InFlight((e) => log.error({ err: e }, 'telegram: background task failed')),
    analysing: new BusyCounter(options.maxAnalyses ?? services.engine.load().capacity),
    files: { token: options.token, apiRoot: options.apiRoot, localFiles: options.localFiles ?? false },
    epochOf,
    commandContext: (chat, user, senderChat) => commandContext(api, chat, user, services.clock, senderChat),
    replyLang,
    async fail(target, cctx, e) {
      const err = toVoicemoodError(e);
      if (err.code === 'internal') log.error({ err: e }, 'telegram: update failed');
      else log.info({ code: err.code, details: err.details, cause: err.cause instanceof Error ? err.cause.message : undefined }, 'telegram: refused');
      const lang = await replyLang(cctx);
      // A failed Telegram download is not the model download the generic sentence talks about.
      const reply = err.details.telegramDownload
        ? { kind: 'error' as const, code: err.code, text: telegramStrings(lang).downloadFailed }
        : errorReply(err, lang);
      await deliver(replies, { ...target, lang }, [reply]).catch((e2: unknown) => log.warn({ err: e2 }, 'telegram: could not send an error reply'));
    },
  };
}
