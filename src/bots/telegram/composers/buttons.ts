/** Inline buttons: a card's "Timeline" (the strip under the card, and a chart for longer notes); any other gets an empty answer. */
import { Composer, GrammyError, InputFile } from 'grammy';
import { t } from '../../../render/i18n.ts';
import { renderTimelinePng, renderTimelineText } from '../../../render/timeline.ts';
import type { VoicemoodContext } from '../flavour.ts';
import { fit, MESSAGE_LIMIT, pre } from '../html.ts';
import { telegramStrings } from '../strings.ts';

/** Timelines longer than this (seconds) also get a PNG chart. */
export const CHART_AFTER_S = 10;

export const buttons = new Composer<VoicemoodContext>();

buttons.callbackQuery(/^tl:([0-9a-z]+)$/, async (ctx) => {
  const vm = ctx.voicemood;
  const cctx = ctx.chat && vm.commandContext(ctx.chat, ctx.from);
  const lang = cctx ? await vm.replyLang(cctx) : 'en';
  const item = await vm.timelines.get(ctx.match[1]);
  const message = ctx.callbackQuery.message;
  if (!item || !message || message.chat.id !== item.chatId) {
    await ctx.answerCallbackQuery({ text: telegramStrings(lang).timelineGone });
    return;
  }
  await ctx.answerCallbackQuery({ text: telegramStrings(lang).timelineShown });
  // A second tap that arrives before the edit has removed the button must not edit (Telegram
  // answers "message is not modified") nor send the chart twice.
  if (!(await vm.timelines.markShown(ctx.match[1]))) return;
  const html = `${item.cardHtml}\n${pre(fit(renderTimelineText(item.timeline, lang), MESSAGE_LIMIT - item.cardHtml.length - 20))}`;
  await ctx.api
    .editMessageText(message.chat.id, message.message_id, html, { parse_mode: 'HTML', reply_markup: { inline_keyboard: [] } })
    .catch((e: unknown) => {
      // A retried edit whose first attempt got through is "not modified": it is shown, all is well.
      if (!(e instanceof GrammyError && /message is not modified/i.test(e.description))) throw e;
    });
  // Past a couple of strip rows a chart reads better than emoji.
  if (item.timeline.durationS > CHART_AFTER_S) {
    const png = await renderTimelinePng(item.timeline, lang);
    await ctx.api.sendPhoto(message.chat.id, new InputFile(png, 'timeline.png'), {
      caption: t(lang).chartTitle,
      reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
    });
  }
});

// Any other button (one of an older version, a forged one) still gets its answer, or the
// client shows a spinner until Telegram's own timeout.
buttons.on('callback_query', (ctx) => ctx.answerCallbackQuery());
