/** /mood: how this chat has sounded over a window (default the last 24 h), with a chart. */
import { summariseChat } from '../usecases/summarise.ts';
import { renderSummaryBody, renderSummaryPng, formatWindow } from '../render/summary.ts';
import { t } from '../render/i18n.ts';
import { safely } from './common.ts';
import type { CommandContext, Reply, SummaryReply } from './types.ts';
import type { Services } from '../usecases/ports.ts';

export const MOOD_WINDOW_MS = 24 * 3_600_000;

export function handleMood(ctx: CommandContext, s: Services, options: { windowMs?: number } = {}): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => {
    const windowMs = Math.max(60_000, Math.min(options.windowMs ?? MOOD_WINDOW_MS, s.history.retentionDays * 86_400_000));
    const toMs = ctx.now() + 1;
    const fromMs = toMs - windowMs;
    const summary = await summariseChat(s.history, { platform: ctx.platform, chatId: ctx.chat.id, fromMs, toMs });
    const title = t(lang).moodTitle(formatWindow(windowMs));
    const reply: SummaryReply = { kind: 'summary', summary, title, body: renderSummaryBody(summary, lang) };
    const png = await renderSummaryPng(summary, lang, title);
    if (png) reply.png = png;
    return [reply];
  });
}
