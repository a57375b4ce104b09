/**
 * Renders the structured replies of src/commands as Telegram messages: cards and summaries in HTML
 * parse mode (bars inside <pre>), a "Timeline" button under cards that have one, a reaction on the
 * analysed note, PNG charts via sendPhoto, and moderation alerts sent privately to opted-in admins.
 */
import { InputFile, type Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { AlertReply, CardReply, Reply } from '../../commands/types.ts';
import type { Logger } from '../../util/log.ts';
import type { Lang } from '../../domain/emotions.ts';
import { escapeHtml } from '../../render/text.ts';
import { bold, CAPTION_LIMIT, fit, MESSAGE_LIMIT, pre } from './html.ts';
import { reactionFor } from './reactions.ts';
import { telegramStrings } from './strings.ts';
import type { TimelineStore } from '../../state/timelines.ts';
import type { Timeline } from '../../domain/mood.ts';

export interface ReplyTarget {
  chatId: number;
  /** The message answered (the voice note or the command); replies quote it. */
  replyTo?: number;
  /** The analysed voice note, which gets the emotion as a reaction. */
  reactTo?: number;
  lang: Lang;
  /** Whose voice a card shows, and their forget epoch when it was analysed (for the timeline cache). */
  owner?: { userId: string; epoch: number };
}

/** What the "Timeline" button needs: the card's HTML (kept above the timeline when the card is edited) and its chat (only taps from there are served). */
export interface TelegramTimeline {
  timeline: Timeline;
  cardHtml: string;
  chatId: number;
}

export interface ReplyDeps {
  api: Api;
  timelines: TimelineStore<TelegramTimeline>;
  logger: Logger;
}

/** Telegram counts the 4096 characters after parsing the HTML: title + newline + body must fit. */
const HTML_BUDGET = MESSAGE_LIMIT - 2;

export function cardHtml(reply: CardReply): string {
  return `${bold(reply.title)}\n${pre(reply.body)}`;
}

export async function deliver(deps: ReplyDeps, target: ReplyTarget, replies: readonly Reply[]): Promise<void> {
  for (const reply of replies) {
    switch (reply.kind) {
      case 'card':
        await sendCard(deps, target, reply);
        break;
      case 'text':
      case 'error':
        await deps.api.sendMessage(
          target.chatId,
          reply.kind === 'text' && reply.monospace ? pre(fit(reply.text, MESSAGE_LIMIT - 20)) : escapeHtml(fit(reply.text, MESSAGE_LIMIT)),
          {
            parse_mode: 'HTML',
            ...quote(target),
          },
        );
        break;
      case 'summary': {
        // Cut the plain text, never the HTML (a cut tag makes Telegram refuse the whole message).
        const title = fit(reply.title, 256);
        await deps.api.sendMessage(target.chatId, `${bold(title)}\n${pre(fit(reply.body, HTML_BUDGET - title.length))}`, {
          parse_mode: 'HTML',
          ...quote(target),
        });
        if (reply.png) await deps.api.sendPhoto(target.chatId, new InputFile(reply.png, 'mood.png'), { caption: fit(reply.title, CAPTION_LIMIT) });
        break;
      }
      case 'alert':
        await sendAlert(deps, reply);
        break;
      case 'file':
        // Only ever produced for a private chat (the command refuses in groups).
        await deps.api.sendDocument(target.chatId, new InputFile(reply.bytes, reply.filename), {
          caption: fit(reply.caption, CAPTION_LIMIT),
          ...quote(target),
        });
        break;
    }
  }
}

async function sendCard(deps: ReplyDeps, target: ReplyTarget, reply: CardReply): Promise<void> {
  const html = cardHtml(reply);
  let markup: InlineKeyboardMarkup | undefined;
  if (reply.timeline && reply.timeline.windows.length > 0) {
    const key = await deps.timelines.put({ timeline: reply.timeline, cardHtml: html, chatId: target.chatId }, target.owner);
    if (key !== undefined) markup = { inline_keyboard: [[{ text: telegramStrings(target.lang).timelineButton, callback_data: `tl:${key}` }]] };
  }
  await deps.api.sendMessage(target.chatId, html, { parse_mode: 'HTML', ...quote(target), ...(markup ? { reply_markup: markup } : {}) });
  const emoji = reactionFor(reply.card.emotion);
  if (emoji && target.reactTo !== undefined) {
    // A reaction is a nicety: chats may forbid reactions, so a refusal is only logged.
    await deps.api.setMessageReaction(target.chatId, target.reactTo, [{ type: 'emoji', emoji }]).catch((e: unknown) => {
      deps.logger.debug({ err: e, chatId: target.chatId }, 'telegram: reaction refused');
    });
  }
}

async function sendAlert(deps: ReplyDeps, reply: AlertReply): Promise<void> {
  const title = fit(reply.title, 256);
  const html = `${bold(title)}\n${escapeHtml(fit(reply.text, HTML_BUDGET - title.length))}`;
  for (const userId of reply.notifyUserIds) {
    // An admin who never opened a private chat with the bot cannot be written to: log and go on.
    await deps.api.sendMessage(Number(userId), html, { parse_mode: 'HTML' }).catch((e: unknown) => {
      deps.logger.warn({ err: e, signal: reply.signal.id }, 'telegram: could not deliver a moderation alert privately');
    });
  }
}

function quote(target: ReplyTarget): { reply_parameters?: { message_id: number; allow_sending_without_reply: boolean } } {
  return target.replyTo === undefined ? {} : { reply_parameters: { message_id: target.replyTo, allow_sending_without_reply: true } };
}
