/** A mood summary as text (the card body) and as a PNG chart, in en or zh. */
import { EMOJI, EMOTION_LABELS, type EmotionScores, type Lang } from '../domain/emotions.ts';
import type { MoodSummary } from '../domain/mood.ts';
import { topShares } from '../usecases/summarise.ts';
import { formatPercent, formatSeconds, t } from './i18n.ts';
import { renderSharesChartPng } from './chart.ts';
import { bar, displayWidth, padEnd } from './text.ts';

/** "24 h", "5 min": the length of a window for titles. */
export function formatWindow(ms: number): string {
  return formatSeconds(ms / 1000).replace(/ 0?0 s$/, '');
}

/**
 * Monospace body: the overall line, then per member (most talk first): dominant emoji, name,
 * count and talk time; under it the top three shares as bars.
 */
export function renderSummaryBody(summary: MoodSummary, lang: Lang, options: { maxMembers?: number } = {}): string {
  const s = t(lang);
  if (summary.count === 0 || !summary.overall) return s.moodEmpty;
  const lines: string[] = [];
  const o = summary.overall;
  lines.push(
    `${s.moodOverall}${EMOJI[o]} ${EMOTION_LABELS[lang][o]} ${formatPercent(summary.shares[o])} · ${s.notes(summary.count)} · ${formatSeconds(summary.talkS)} ${s.talk}`,
  );
  lines.push(sharesLine(summary.shares));
  const shown = summary.members.slice(0, options.maxMembers ?? 20);
  const nameW = Math.min(18, Math.max(...shown.map((m) => displayWidth(m.name))));
  for (const m of shown) {
    lines.push('');
    lines.push(`${EMOJI[m.dominant]} ${padEnd(truncate(m.name, 18), nameW)}  ${s.notes(m.count)} · ${formatSeconds(m.talkS)} ${s.talk}`);
    lines.push(sharesLine(m.shares));
  }
  if (summary.members.length > shown.length) lines.push(`\n… +${summary.members.length - shown.length}`);
  return lines.join('\n');
}

/** PNG chart of the chat's emotion shares per bucket (drawn off the event loop); undefined when nothing was said. */
export async function renderSummaryPng(summary: MoodSummary, lang: Lang, title?: string): Promise<Uint8Array | undefined> {
  if (summary.count === 0) return undefined;
  const span = summary.toMs - summary.fromMs;
  // Tick labels stay language-neutral ("-6 h", "0") so that they render with any font.
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((at) => ({ at, label: at === 1 ? '0' : `-${formatWindow(span * (1 - at))}` }));
  return renderSharesChartPng({
    title: title ?? t(lang).chartTitle,
    fallbackTitle: t('en').chartTitle,
    lang,
    columns: summary.buckets.map((b) => b.shares),
    ticks,
  });
}

function sharesLine(shares: EmotionScores): string {
  return (
    '   ' +
    topShares(shares, 3)
      .map((x) => `${EMOJI[x.emotion]} ${bar(x.share, 5)} ${formatPercent(x.share).padStart(4)}`)
      .join('  ')
  );
}

function truncate(name: string, maxWidth: number): string {
  if (displayWidth(name) <= maxWidth) return name;
  let out = '';
  for (const ch of name) {
    if (displayWidth(out + ch) > maxWidth - 1) break;
    out += ch;
  }
  return out + '…';
}
