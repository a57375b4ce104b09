/**
 * The grammY bot: maps Telegram updates to CommandContext, calls the platform-neutral commands of
 * src/commands and renders their replies (replies.ts). No mood logic lives here.
 *
 * Voice analyses run in the background (tracked by InFlight), so one slow note never holds up the
 * next update, and shutdown can wait for them.
 */
import { Bot, GrammyError, InputFile, type Api, type Context } from 'grammy';
import type { Chat, Message, User } from 'grammy/types';
import { handleAlerts, handleForget, handleHelp, handleLang, handleMe, handleMood, handlePrivacy, handleSettings, handleStart, handleVoice } from '../../commands/index.ts';
import type { CardReply, Command, CommandContext, CommandUser, Reply } from '../../commands/types.ts';
import type { Services } from '../../usecases/ports.ts';
import { errorReply, resolveLang } from '../../commands/common.ts';
import { limiterKeys } from '../../state/rateLimit.ts';
import { BusyCounter, InFlight } from '../../state/inFlight.ts';
import { MemoryTimelineStore, SharedTimelineStore, type TimelineStore } from '../../state/timelines.ts';
import { isOptedOut } from '../../history/privacy.ts';
import { toVoicemoodError, VoicemoodError } from '../../domain/errors.ts';
import type { Lang } from '../../domain/emotions.ts';
import { t } from '../../render/i18n.ts';
import { renderTimelinePng, renderTimelineText } from '../../render/timeline.ts';
import type { TelegramBotOptions } from './config.ts';
import { AnalysedNotes, type AnalysedNote } from './analysedNotes.ts';
import { commandContext, displayName, isGroup } from './context.ts';
import { downloadTelegramFile } from './download.ts';
import { fit, MESSAGE_LIMIT, pre } from './html.ts';
import { mediaOf, type TelegramMedia } from './media.ts';
import { deliver, type ReplyTarget, type TelegramTimeline } from './replies.ts';
import { retryTransformer } from './retry.ts';
import { telegramStrings } from './strings.ts';

export const DEFAULT_API_ROOT = 'https://api.telegram.org';

/** Timelines longer than this (seconds) also get a PNG chart. */
export const CHART_AFTER_S = 10;

/** How long an update id stays claimed (Telegram gives up re-delivering within a day). */
export const UPDATE_CLAIM_TTL_S = 86_400;

/** Redis keys of the shared timelines (several instances on one Redis). */
export const TIMELINE_PREFIX = 'voicemood:tg:tl:';

/** What a "busy" reply suggests waiting, in seconds. */
export const BUSY_RETRY_S = 10;


export interface TelegramBot {
  bot: Bot;
  inFlight: InFlight;
}

export function createTelegramBot(services: Services, options: TelegramBotOptions & { maxAnalyses?: number }): TelegramBot {
  const apiRoot = (options.apiRoot ?? DEFAULT_API_ROOT).replace(/\/+$/, '');
  const bot = new Bot(options.token, { client: { apiRoot } });
  bot.api.config.use(retryTransformer());
  const epochOf = (userId: string): number => services.history.forgetEpoch('telegram', userId);
  // Several instances on one Redis: the tap on a card's button may reach another instance.
  const timelines: TimelineStore<TelegramTimeline> =
    services.sharedKv && services.claims ? new SharedTimelineStore(services.sharedKv, services.claims, { prefix: TIMELINE_PREFIX, epochOf }) : new MemoryTimelineStore({ capacity: 2000, epochOf });
  const notes = new AnalysedNotes({ clock: services.clock });
  const log = services.logger.child({ platform: 'telegram' });
  const inFlight = new InFlight((e) => log.error({ err: e }, 'telegram: background task failed'));
  const deps = { api: bot.api, timelines, logger: log };
  const analysing = new BusyCounter(options.maxAnalyses ?? services.engine.load().capacity);

  const context = (chat: Chat, user: User, senderChat?: Chat): CommandContext => commandContext(bot.api, chat, user, services.clock, senderChat);

  /** The language the commands answer in (the user's /lang, the chat's, then Telegram's). */
  const replyLang = (cctx: CommandContext): Promise<Lang> => resolveLang(cctx, services).catch(() => cctx.lang);

  async function fail(target: Omit<ReplyTarget, 'lang'>, cctx: CommandContext, e: unknown): Promise<void> {
    const err = toVoicemoodError(e);
    if (err.code === 'internal') log.error({ err: e }, 'telegram: update failed');
    else log.info({ code: err.code, details: err.details, cause: err.cause instanceof Error ? err.cause.message : undefined }, 'telegram: refused');
    const lang = await replyLang(cctx);
    // A failed Telegram download is not the model download the generic sentence talks about.
    const reply = err.details.telegramDownload ? { kind: 'error' as const, code: err.code, text: telegramStrings(lang).downloadFailed } : errorReply(err, lang);
    await deliver(deps, { ...target, lang }, [reply]).catch((e2: unknown) => log.warn({ err: e2 }, 'telegram: could not send an error reply'));
  }

  /**
   * Downloads and analyses one note, then replies to it; never throws. A forwarded note is someone
   * else's voice: answered, but not stored as the sender's (handleVoice's ownVoice). `requester`:
   * who asked (a reply-/mood), when it is not the author: the author's opt-out applies, the
   * requester is rate-limited, and nothing goes into the author's history or moderation. A note is
   * analysed at most once (AnalysedNotes): later requests get the same card again.
   */
  function analyze(message: Message, media: TelegramMedia, author: User, trigger: 'auto' | 'request', replyTo: number, requester: User = author): void {
    const cctx = context(message.chat, requester);
    const ownerId = String(author.id);
    const voiceOf: CommandUser | undefined = requester.id !== author.id ? { id: ownerId, name: displayName(author) } : undefined;
    const target = { chatId: message.chat.id, replyTo, reactTo: message.message_id };
    const prior = notes.get(message.chat.id, message.message_id);
    if (prior) {
      inFlight.run(() => replay(prior, cctx, target, voiceOf, trigger, () => analyze(message, media, author, trigger, replyTo, requester)));
      return;
    }
    // Bounded like the engine's queue: past it, a polite "busy" before downloading anything, so
    // that a flood cannot pile up downloads and decoded audio in memory.
    if (!analysing.enter()) {
      services.metrics?.analysis('telegram', 'busy');
      inFlight.run(() => fail(target, cctx, new VoicemoodError('busy', 'Too many voice notes are waiting.', { retryAfterS: BUSY_RETRY_S })));
      return;
    }
    let settle!: (card: CardReply | undefined) => void;
    notes.remember(message.chat.id, message.message_id, ownerId, new Promise((resolve) => (settle = resolve)));
    inFlight.run(async () => {
      let card: CardReply | undefined;
      try {
        // handleVoice downloads only after its consent and rate-limit checks, under its deadline.
        const download = async (signal: AbortSignal): Promise<Uint8Array> => {
          try {
            return await downloadTelegramFile({ api: bot.api, token: options.token, apiRoot, ...(options.localFiles ? { localFiles: true } : {}) }, media.fileId, media.fileSize, { signal });
          } catch (e) {
            if (e instanceof VoicemoodError && e.details.localPathRefused) log.warn({ apiRoot }, 'telegram: getFile gave a local file_path from a non-loopback TELEGRAM_API_ROOT; not read (set TELEGRAM_LOCAL_FILES=1 if that server shares this disk)');
            // A failed Telegram download is not the model download the generic sentence talks about.
            if (e instanceof VoicemoodError && e.details.telegramDownload) {
              throw new VoicemoodError(e.code, telegramStrings(await replyLang(cctx)).downloadFailed, { cause: e.cause, details: { ...e.details, userFacing: true } });
            }
            throw e;
          }
        };
        const epoch = epochOf(ownerId);
        const replies = await handleVoice(cctx, services, {
          download,
          filename: media.filename,
          ...(media.mimeType ? { mimeType: media.mimeType } : {}),
          trigger,
          frames: true,
          ownVoice: message.forward_origin === undefined,
          ...(voiceOf ? { voiceOf } : {}),
        });
        // The owner said /forget meanwhile: nothing of this note is shown or kept.
        if (epochOf(ownerId) !== epoch) return;
        card = replies.find((r): r is CardReply => r.kind === 'card');
        await deliver(deps, { ...target, lang: await replyLang(cctx), owner: { userId: ownerId, epoch } }, replies);
      } catch (e) {
        await fail(target, cctx, e);
      } finally {
        analysing.leave();
        settle(card);
      }
    });
  }

  /** A note analysed before: its card again (after the author's consent and the requester's rate limit), or a fresh try. */
  async function replay(prior: AnalysedNote, cctx: CommandContext, target: Omit<ReplyTarget, 'lang'>, voiceOf: CommandUser | undefined, trigger: 'auto' | 'request', retry: () => void): Promise<void> {
    const card = await prior.card;
    if (!card) return retry(); // the first attempt gave no card (refused, failed): this one may
    try {
      const lang = await replyLang(cctx);
      const strings = t(lang);
      const epoch = epochOf(prior.authorId);
      if (isOptedOut(await services.settings.getUserSettings('telegram', prior.authorId))) {
        if (trigger === 'request') await deliver(deps, { ...target, lang }, [{ kind: 'text', text: voiceOf ? strings.optedOutAuthor : strings.optedOutRequest }]);
        return;
      }
      const limit = await services.limiter.take(limiterKeys(cctx));
      if (!limit.ok) {
        const text = limit.key.startsWith('chat:') ? strings.chatRateLimited(limit.retryAfterS) : strings.rateLimited(limit.retryAfterS);
        await deliver(deps, { ...target, lang }, [{ kind: 'error', code: 'rate_limited', retryAfterS: limit.retryAfterS, text }]);
        return;
      }
      if (!notes.get(target.chatId, target.reactTo ?? 0)) return; // forgotten meanwhile
      await deliver(deps, { ...target, lang, owner: { userId: prior.authorId, epoch } }, [card]);
    } catch (e) {
      await fail(target, cctx, e);
    }
  }

  /** Runs a text command and replies to the command message. */
  async function run(ctx: Context, command: (cctx: CommandContext) => Promise<Reply[]>): Promise<void> {
    const message = ctx.message;
    if (!message?.from) return;
    const cctx = context(message.chat, message.from, message.sender_chat);
    const target = { chatId: message.chat.id, replyTo: message.message_id };
    try {
      const replies = await command(cctx);
      await deliver(deps, { ...target, lang: await replyLang(cctx) }, replies);
    } catch (e) {
      await fail(target, cctx, e);
    }
  }

  const simple = (name: string, command: Command<[]>): void => {
    bot.command(name, (ctx) => run(ctx, (cctx) => command(cctx, services)));
  };
  const withArg = (name: string, command: Command<[string | undefined]>): void => {
    bot.command(name, (ctx) => run(ctx, (cctx) => command(cctx, services, ctx.match.trim() || undefined)));
  };

  // Several webhook instances behind one URL: Telegram re-delivers an update it thinks was not
  // answered, possibly to another instance. The first instance to claim its update_id handles it.
  const claims = services.claims;
  if (claims) {
    const botId = options.token.slice(0, options.token.indexOf(':'));
    bot.use(async (ctx, next) => {
      if (await claims.claim(`voicemood:tg:update:${botId}:${ctx.update.update_id}`, UPDATE_CLAIM_TTL_S)) return next();
      log.info({ updateId: ctx.update.update_id }, 'telegram: update already handled (a re-delivery); skipped');
    });
  }

  simple('start', handleStart);
  simple('help', handleHelp);
  // /me export: a JSON file of everything stored about the user (handleMe refuses it in groups).
  bot.command('me', (ctx) => run(ctx, (cctx) => handleMe(cctx, services, { export: /^export$/i.test(ctx.match.trim()) })));
  bot.command('forget', (ctx) =>
    run(ctx, async (cctx) => {
      const replies = await handleForget(cctx, services);
      // In memory too: their timelines and analysed notes (an analysis still running is dropped by
      // the forget epoch, see analyze()).
      await timelines.forgetUser(cctx.user.id);
      notes.forgetUser(cctx.user.id);
      return replies;
    }),
  );
  withArg('lang', handleLang);
  withArg('privacy', handlePrivacy);
  withArg('alerts', handleAlerts);
  bot.command('settings', (ctx) => run(ctx, (cctx) => handleSettings(cctx, services, ctx.match.trim().split(/\s+/).filter(Boolean))));

  // /mood: as a reply to a voice note it analyses that note; otherwise the chat's last 24 h.
  bot.command('mood', async (ctx) => {
    const message = ctx.message;
    const target = message?.reply_to_message;
    // A note sent on behalf of a chat (a channel, an anonymous admin) has no person behind it whose
    // consent and history apply: /mood then answers with the chat's summary.
    const media = target?.sender_chat ? undefined : mediaOf(target);
    // The voice is its author's: their opt-out applies. Asked by someone else, it is shown to the
    // group but stored nowhere and never counted towards an alert about the author.
    const author = target?.from ?? message?.from;
    if (author && target && media && message?.from) return analyze(target, media, author, 'request', target.message_id, message.from);
    await run(ctx, (cctx) => handleMood(cctx, services, {}));
  });

  bot.on(['message:voice', 'message:audio', 'message:video_note', 'message:document'], async (ctx) => {
    const message = ctx.message;
    const media = mediaOf(message);
    // sender_chat: sent on behalf of a chat, where `from` is only a stand-in (GroupAnonymousBot,
    // Channel_Bot, or "Telegram" 777000 for a channel post forwarded into its discussion group).
    if (!media || !message.from || message.from.is_bot || message.sender_chat) return;
    // handleVoice decides the same again; checking here first means not even downloading the voice
    // of someone who opted out, or a note in an on-demand group (someone replies /mood to it instead).
    const person = await services.settings.getUserSettings('telegram', String(message.from.id));
    if (isOptedOut(person)) return;
    if (isGroup(message.chat)) {
      const settings = await services.settings.getChatSettings('telegram', String(message.chat.id));
      if (settings.replyMode === 'on_demand') return;
    }
    analyze(message, media, message.from, 'auto', message.message_id);
  });

  // A group upgraded to a supergroup gets a new chat id; its settings (reply mode, language,
  // alerts, moderation) follow it. Its history stays under the old id and ages out as usual.
  bot.on('message:migrate_to_chat_id', async (ctx) => {
    const from = String(ctx.chat.id);
    const to = String(ctx.message.migrate_to_chat_id);
    const settings = await services.settings.getChatSettings('telegram', from);
    await services.settings.setChatSettings('telegram', to, settings);
    log.info({ from, to }, 'telegram: group upgraded to a supergroup; settings moved');
  });

  bot.callbackQuery(/^tl:([0-9a-z]+)$/, async (ctx) => {
    const cctx = ctx.chat && context(ctx.chat, ctx.from);
    const lang = cctx ? await replyLang(cctx) : 'en';
    const item = await timelines.get(ctx.match[1]!);
    const message = ctx.callbackQuery.message;
    if (!item || !message || message.chat.id !== item.chatId) {
      await ctx.answerCallbackQuery({ text: telegramStrings(lang).timelineGone });
      return;
    }
    await ctx.answerCallbackQuery({ text: telegramStrings(lang).timelineShown });
    // A second tap that arrives before the edit has removed the button must not edit (Telegram
    // answers "message is not modified") nor send the chart twice.
    if (!(await timelines.markShown(ctx.match[1]!))) return;
    const html = `${item.cardHtml}\n${pre(fit(renderTimelineText(item.timeline, lang), MESSAGE_LIMIT - item.cardHtml.length - 20))}`;
    await ctx.api.editMessageText(message.chat.id, message.message_id, html, { parse_mode: 'HTML', reply_markup: { inline_keyboard: [] } }).catch((e: unknown) => {
      // A retried edit whose first attempt got through is "not modified": it is shown, all is well.
      if (!(e instanceof GrammyError && /message is not modified/i.test(e.description))) throw e;
    });
    // Past a couple of strip rows a chart reads better than emoji.
    if (item.timeline.durationS > CHART_AFTER_S) {
      const png = await renderTimelinePng(item.timeline, lang);
      await ctx.api.sendPhoto(message.chat.id, new InputFile(png, 'timeline.png'), { caption: t(lang).chartTitle, reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true } });
    }
  });

  // Any other button (one of an older version, a forged one) still gets its answer, or the
  // client shows a spinner until Telegram's own timeout.
  bot.on('callback_query', (ctx) => ctx.answerCallbackQuery());

  bot.catch((err) => log.error({ err: err.error, updateId: err.ctx.update.update_id }, 'telegram: unhandled error in an update'));
  return { bot, inFlight };
}

export type { Api };
