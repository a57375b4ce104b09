/**
 * The mood card: from an analysis to emoji, label, confidence, 9 score bars and duration.
 * Bars are always all 9 classes in MODEL ORDER (angry … unknown), so that two cards can be
 * compared at a glance; the winner is in the title.
 */
import { EMOJI, EMOTION_LABELS, EMOTIONS, type Lang } from '../domain/emotions.ts';
import { formatPercent, formatSeconds, t } from './i18n.ts';
import { bar, padEnd, padStart, displayWidth } from './text.ts';
import type { MoodCard, MoodInput } from '../domain/mood.ts';

export const CARD_BAR_WIDTH = 12;

export function buildCard(input: MoodInput, lang: Lang): MoodCard {
  return {
    lang,
    emotion: input.emotion,
    emoji: EMOJI[input.emotion],
    label: EMOTION_LABELS[lang][input.emotion],
    confidence: clamp01(input.confidence),
    durationS: input.durationS,
    bars: EMOTIONS.map((e) => ({ emotion: e, emoji: EMOJI[e], label: EMOTION_LABELS[lang][e], score: clamp01(input.scores[e]) })),
  };
}

/** One line: `😠 Angry · 78% confidence · 3.2 s`. */
export function renderCardTitle(card: MoodCard): string {
  const s = t(card.lang);
  return `${card.emoji} ${card.label} · ${formatPercent(card.confidence)} ${s.confidence} · ${formatSeconds(card.durationS)}`;
}

/** The 9 bars, one per line, for a monospace block: `😠 Angry      ███▍         31.2%`. */
export function renderCardBars(card: MoodCard, width = CARD_BAR_WIDTH): string {
  const labelW = Math.max(...card.bars.map((b) => displayWidth(b.label)));
  return card.bars.map((b) => `${b.emoji} ${padEnd(b.label, labelW)} ${bar(b.score, width)} ${padStart(`${(b.score * 100).toFixed(1)}%`, 6)}`).join('\n');
}

/** Title, blank line, bars: the whole card as plain text (CLI, logs-free previews). */
export function renderCardText(card: MoodCard): string {
  return `${renderCardTitle(card)}\n\n${renderCardBars(card)}`;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.max(0, Math.min(1, x)) : 0;
}
