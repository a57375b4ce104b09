/**
 * Analysing one voice note in the background and answering it: for a note sent to the chat (the
 * voice notes composer) and for a reply-/mood to one (the commands composer).
 */
import type { Message, User } from 'grammy/types';
import { handleVoice } from '../../commands/index.ts';
import type { CardReply, CommandContext, CommandUser } from '../../commands/types.ts';
import { limiterKeys } from '../../state/rateLimit.ts';
import { mayAnalyse } from '../../usecases/consent.ts';
import { VoicemoodError } from '../../domain/errors.ts';
import { t } from '../../render/i18n.ts';
import type { AnalysedNote } from './analysedNotes.ts';
import { displayName } from './context.ts';
import { downloadTelegramFile } from './download.ts';
import type { TelegramAdapter } from './flavour.ts';
import type { TelegramMedia } from './media.ts';
import { deliver, type ReplyTarget } from './replies.ts';
import { telegramStrings } from './strings.ts';

/** What a "busy" reply suggests waiting, in seconds. */
export const BUSY_RETRY_S = 10;

/**
 * Downloads and analyses one note, then replies to it; never throws. A forwarded note is someone
 * else's voice: answered, but not stored as the sender's (handleVoice's ownVoice). `requester`:
 * who asked (a reply-/mood), when it is not the author: the author's opt-out applies, the
 * requester is rate-limited, and nothing goes into the author's history or moderation. A note is
 * analysed at most once (AnalysedNotes): later requests get the same card again.
 */
export function analyzeNote(
  vm: TelegramAdapter,
  message: Message,
  media: TelegramMedia,
  author: User,
  trigger: 'auto' | 'request',
  replyTo: number,
  requester: User = author,
): void {
  const { services, log, notes, inFlight, files } = vm;
  const cctx = vm.commandContext(message.chat, requester);
  const ownerId = String(author.id);
  const voiceOf: CommandUser | undefined = requester.id !== author.id ? { id: ownerId, name: displayName(author) } : undefined;
  const target = { chatId: message.chat.id, replyTo, reactTo: message.message_id };
  const prior = notes.get(message.chat.id, message.message_id);
  if (prior) {
    inFlight.run(() => replay(vm, prior, cctx, target, voiceOf, trigger, () => analyzeNote(vm, message, media, author, trigger, replyTo, requester)));
    return;
  }
  // Bounded like the engine's queue: past it, a polite "busy" before downloading anything, so
  // that a flood cannot pile up downloads and decoded audio in memory.
  if (!vm.analysing.enter()) {
    services.metrics?.analysis('telegram', 'busy');
    inFlight.run(() => vm.fail(target, cctx, new VoicemoodError('busy', 'Too many voice notes are waiting.', { retryAfterS: BUSY_RETRY_S })));
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
          return await downloadTelegramFile(
            { api: vm.api, token: files.token, apiRoot: files.apiRoot, ...(files.localFiles ? { localFiles: true } : {}) },
            media.fileId,
            media.fileSize,
            { signal },
          );
        } catch (e) {
          if (e instanceof VoicemoodError && e.details.localPathRefused)
            log.warn(
              { apiRoot: files.apiRoot },
              'telegram: getFile gave a local file_path from a non-loopback TELEGRAM_API_ROOT; not read (set TELEGRAM_LOCAL_FILES=1 if that server shares this disk)',
            );
          // A failed Telegram download is not the model download the generic sentence talks about.
          if (e instanceof VoicemoodError && e.details.telegramDownload) {
            throw new VoicemoodError(e.code, telegramStrings(await vm.replyLang(cctx)).downloadFailed, {
              cause: e.cause,
              details: { ...e.details, userFacing: true },
            });
          }
          throw e;
        }
      };
      const epoch = vm.epochOf(ownerId);
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
      if (vm.epochOf(ownerId) !== epoch) return;
      card = replies.find((r): r is CardReply => r.kind === 'card');
      await deliver(vm.replies, { ...target, lang: await vm.replyLang(cctx), owner: { userId: ownerId, epoch } }, replies);
    } catch (e) {
      await vm.fail(target, cctx, e);
    } finally {
      vm.analysing.leave();
      settle(card);
    }
  });
}

/** A note analysed before: its card again (after the author's consent and the requester's rate limit), or a fresh try. */
async function replay(
  vm: TelegramAdapter,
  prior: AnalysedNote,
  cctx: CommandContext,
  target: Omit<ReplyTarget, 'lang'>,
  voiceOf: CommandUser | undefined,
  trigger: 'auto' | 'request',
  retry: () => void,
): Promise<void> {
  const { services } = vm;
  const card = await prior.card;
  if (!card) return retry(); // the first attempt gave no card (refused, failed): this one may
  try {
    const lang = await vm.replyLang(cctx);
    const strings = t(lang);
    const epoch = vm.epochOf(prior.authorId);
    if (!(await mayAnalyse(services.settings, { platform: 'telegram', userId: prior.authorId }, 'voice_note'))) {
      if (trigger === 'request')
        await deliver(vm.replies, { ...target, lang }, [{ kind: 'text', text: voiceOf ? strings.optedOutAuthor : strings.optedOutRequest }]);
      return;
    }
    const limit = await services.limiter.take(limiterKeys(cctx));
    if (!limit.ok) {
      const text = limit.key.startsWith('chat:') ? strings.chatRateLimited(limit.retryAfterS) : strings.rateLimited(limit.retryAfterS);
      await deliver(vm.replies, { ...target, lang }, [{ kind: 'error', code: 'rate_limited', retryAfterS: limit.retryAfterS, text }]);
      return;
    }
    if (!vm.notes.get(target.chatId, target.reactTo ?? 0)) return; // forgotten meanwhile
    await deliver(vm.replies, { ...target, lang, owner: { userId: prior.authorId, epoch } }, [card]);
  } catch (e) {
    await vm.fail(target, cctx, e);
  }
}
