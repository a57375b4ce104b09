/**
 * A voice note: consent and reply-mode checks, rate limits, then (only then) the download, the
 * analysis — all under one request deadline — history, the card, the one-time privacy notice, and
 * moderation. Consent, analysis, recording, moderation and forgetting are the use cases of
 * src/usecases, the same ones a Discord voice-channel utterance goes through.
 */
import { performance } from 'node:perf_hooks';
import { analyzeVoice } from '../usecases/analyzeVoice.ts';
import { mayAnalyse } from '../usecases/consent.ts';
import { watchForget } from '../usecases/forget.ts';
import { moderate } from '../usecases/moderate.ts';
import { recordAnalysis } from '../usecases/record.ts';
import { buildCard, renderCardBars, renderCardTitle } from '../render/card.ts';
import { t } from '../render/i18n.ts';
import { buildTimeline } from '../render/timeline.ts';
import type { HistoryEntry } from '../domain/history.ts';
import type { Lang } from '../domain/emotions.ts';
import { isVoicemoodError, VoicemoodError } from '../domain/errors.ts';
import { buildAlertReply } from './alert.ts';
import { errorReply, isUserCaused, safely, settingsScope, text } from './common.ts';
import { limiterKeys } from '../state/rateLimit.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, requestDeadline } from '../usecases/requestDeadline.ts';
import type { CardReply, CommandContext, Reply, VoiceInput } from './types.ts';
import type { Services } from '../usecases/ports.ts';

export function handleVoice(ctx: CommandContext, s: Services, input: VoiceInput): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => {
    const strings = t(lang);
    // The voice's owner decides: the sender, or the author of the note someone asked about.
    const owner = input.voiceOf ?? ctx.user;
    const ownVoice = input.ownVoice !== false && input.voiceOf === undefined;
    const voiceOwner = { platform: ctx.platform, userId: owner.id, ...(ctx.chat.guildId !== undefined ? { guildId: ctx.chat.guildId } : {}) };
    if (!(await mayAnalyse(s.settings, voiceOwner, 'voice_note'))) {
      return input.trigger === 'request' ? [text(input.voiceOf ? strings.optedOutAuthor : strings.optedOutRequest)] : [];
    }
    // A /forget of the owner while this is analysed wins (checked again before anything is kept).
    const forgetWatch = watchForget(s.history, ctx.platform, owner.id);
    const scope = settingsScope(ctx);
    const chat = await s.settings.getChatSettings(ctx.platform, scope);
    if (ctx.chat.kind === 'group' && input.trigger === 'auto' && chat.replyMode === 'on_demand') return [];

    const limit = await s.limiter.take(limiterKeys(ctx));
    const count = (outcome: string): void => s.metrics?.analysis(ctx.platform, outcome);
    if (!limit.ok) {
      count('rate_limited');
      const isChat = limit.key.startsWith('chat:');
      return [
        {
          kind: 'error',
          code: 'rate_limited',
          retryAfterS: limit.retryAfterS,
          text: isChat ? strings.chatRateLimited(limit.retryAfterS) : strings.rateLimited(limit.retryAfterS),
        },
      ];
    }

    // One deadline for download + decode + inference: nothing may leave the handler hanging.
    const started = performance.now();
    const deadline = requestDeadline(s.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, input.signal);
    let analysis;
    try {
      let bytes: Uint8Array;
      try {
        bytes = await deadline.race(fetchBytes(input, deadline.signal));
      } catch (e) {
        s.logger.info({ code: isVoicemoodError(e) ? e.code : 'internal', platform: ctx.platform }, 'voice download failed');
        count(isVoicemoodError(e) ? e.code : 'internal');
        return [errorReply(e, lang)];
      }
      analysis = await deadline.race(
        analyzeVoice(s.engine, bytes, {
          ...(input.filename !== undefined ? { filename: input.filename } : {}),
          ...(input.mimeType !== undefined ? { mimeType: input.mimeType } : {}),
          frames: input.frames ?? true,
          frameEmbeddings: false, // the card and its timeline use the per-frame scores only
          signal: deadline.signal,
          logger: s.logger,
        }),
      );
    } catch (e) {
      if (!isUserCaused(e)) s.logger.error({ err: e, platform: ctx.platform }, 'voice analysis failed');
      count(isVoicemoodError(e) ? e.code : 'internal');
      return [errorReply(e, lang)];
    } finally {
      deadline.clear();
    }

    s.metrics?.analysis(ctx.platform, 'ok', (performance.now() - started) / 1000);
    // Forgotten or opted out meanwhile: the result is dropped, nothing is stored or shown.
    if (forgetWatch.forgotten() || !(await mayAnalyse(s.settings, voiceOwner, 'voice_note'))) {
      s.logger.info({ platform: ctx.platform }, 'voice analysis dropped: its owner was forgotten or opted out meanwhile');
      return [];
    }
    const now = ctx.now();
    let stored: HistoryEntry | undefined;
    if (ownVoice) {
      stored = await recordAnalysis(
        s,
        {
          at: now,
          platform: ctx.platform,
          user: ctx.user,
          chatId: ctx.chat.id,
          ...(ctx.chat.guildId !== undefined ? { guildId: ctx.chat.guildId } : {}),
          source: 'voice_note',
          analysis,
        },
        forgetWatch.epoch,
      );
    }

    const card = buildCard(analysis, lang);
    const cardReply: CardReply = { kind: 'card', card, title: renderCardTitle(card), body: renderCardBars(card) };
    if (analysis.frames) cardReply.timeline = buildTimeline(analysis.frames, { durationS: analysis.durationS });
    if (stored) cardReply.entryId = stored.id;
    const replies: Reply[] = [cardReply];

    if (!chat.privacyNoticeShown) {
      await s.settings.setChatSettings(ctx.platform, scope, { privacyNoticeShown: true });
      replies.push(text(privacyNotice(lang, s)));
    }

    if (ctx.chat.kind === 'group' && stored) {
      const { settings, signals } = await moderate(s, {
        platform: ctx.platform,
        chatId: ctx.chat.id,
        ...(ctx.chat.guildId !== undefined ? { guildId: ctx.chat.guildId } : {}),
        settingsScope: scope,
        memberId: ctx.user.id,
        now,
      });
      for (const signal of signals) replies.push(buildAlertReply(signal, settings, settings.lang ?? lang, ctx.chat.title));
    }
    return replies;
  });
}

function fetchBytes(input: VoiceInput, signal: AbortSignal): Promise<Uint8Array> {
  if (input.bytes) return Promise.resolve(input.bytes);
  if (input.download) return input.download(signal);
  return Promise.reject(new VoicemoodError('bad_input', 'There was no audio to analyse.'));
}

export function privacyNotice(lang: Lang, s: Services): string {
  return t(lang).privacyNotice.replace('{days}', String(s.history.retentionDays));
}
