/**
 * Summaries of a window of history: per member dominant emotion, counts, shares and talk time,
 * the chat's overall mood, and time buckets for the chart. Shares are weighted by talk time, so a
 * long angry note weighs more than a short happy one.
 */
import { EMOJI, EMOTIONS, EMOTION_LABELS, type Emotion, type EmotionScores, type Lang } from '../domain/emotions.ts';
import { formatPercent, formatSeconds, t } from '../render/i18n.ts';
import { renderSharesChartPng } from '../render/chart.ts';
import { bar, displayWidth, padEnd } from '../render/text.ts';
import type { HistoryEntry, Platform } from '../domain/history.ts';
import type { MemberSummary, MoodSummary, SummaryBucket } from '../domain/mood.ts';

export const DEFAULT_SUMMARY_BUCKETS = 24;

export function zeroScores(): EmotionScores {
  return Object.fromEntries(EMOTIONS.map((e) => [e, 0])) as EmotionScores;
}

/** Weight of one entry: its talk time, with a floor so that a 0-length entry still counts. */
function weightOf(e: Pick<HistoryEntry, 'durationS'>): number {
  return Math.max(0.1, Number.isFinite(e.durationS) ? e.durationS : 0);
}

/** Talk-time-weighted mean of the entries' scores (all zero for no entries). */
export function weightedShares(entries: readonly Pick<HistoryEntry, 'durationS' | 'scores'>[]): EmotionScores {
  const out = zeroScores();
  let total = 0;
  for (const e of entries) {
    const w = weightOf(e);
    total += w;
    for (const k of EMOTIONS) out[k] += w * (e.scores[k] ?? 0);
  }
  if (total > 0) for (const k of EMOTIONS) out[k] /= total;
  return out;
}

export function dominantOf(shares: EmotionScores): Emotion {
  let best: Emotion = EMOTIONS[0];
  for (const e of EMOTIONS) if (shares[e] > shares[best]) best = e;
  return best;
}

export interface SummarizeOptions {
  platform: Platform;
  chatId: string;
  fromMs: number;
  toMs: number;
  /** Number of chart buckets over [fromMs, toMs) (default 24). */
  buckets?: number;
  /** Display names by user id (newest known name wins otherwise). */
  names?: Record<string, string>;
}

export function summarize(entries: readonly HistoryEntry[], options: SummarizeOptions): MoodSummary {
  const inWindow = entries.filter((e) => e.at >= options.fromMs && e.at < options.toMs && e.platform === options.platform && e.chatId === options.chatId);
  const byUser = new Map<string, HistoryEntry[]>();
  for (const e of inWindow) byUser.set(e.userId, [...(byUser.get(e.userId) ?? []), e]);
  const members: MemberSummary[] = [...byUser].map(([userId, list]) => {
    const shares = weightedShares(list);
    const counts = Object.fromEntries(EMOTIONS.map((k) => [k, 0])) as Record<Emotion, number>;
    for (const e of list) counts[e.emotion]++;
    const latestName = [...list].reverse().find((e) => e.userName)?.userName;
    return {
      userId,
      name: options.names?.[userId] ?? latestName ?? userId,
      dominant: dominantOf(shares),
      count: list.length,
      counts,
      shares,
      talkS: list.reduce((s, e) => s + Math.max(0, e.durationS), 0),
    };
  });
  members.sort((a, b) => b.talkS - a.talkS || b.count - a.count || a.name.localeCompare(b.name));
  const shares = weightedShares(inWindow);
  const n = Math.max(1, options.buckets ?? DEFAULT_SUMMARY_BUCKETS);
  const span = Math.max(1, options.toMs - options.fromMs);
  const buckets: SummaryBucket[] = Array.from({ length: n }, (_, i) => {
    const startMs = options.fromMs + (i * span) / n;
    const endMs = options.fromMs + ((i + 1) * span) / n;
    const list = inWindow.filter((e) => e.at >= startMs && (e.at < endMs || (i === n - 1 && e.at <= endMs)));
    return { startMs, endMs, shares: weightedShares(list), talkS: list.reduce((s, e) => s + Math.max(0, e.durationS), 0) };
  });
  const summary: MoodSummary = {
    platform: options.platform,
    chatId: options.chatId,
    fromMs: options.fromMs,
    toMs: options.toMs,
    shares,
    count: inWindow.length,
    talkS: inWindow.reduce((s, e) => s + Math.max(0, e.durationS), 0),
    members,
    buckets,
  };
  if (inWindow.length > 0) summary.overall = dominantOf(shares);
  return summary;
}

/** "24 h", "5 min": the length of a window for titles. */
export function formatWindow(ms: number): string {
  return formatSeconds(ms / 1000).replace(/ 0?0 s$/, '');
}

/** Top `n` shares, largest first, skipping zeros. */
export function topShares(shares: EmotionScores, n: number): { emotion: Emotion; share: number }[] {
  return EMOTIONS.map((emotion) => ({ emotion, share: shares[emotion] }))
    .filter((x) => x.share > 0)
    .sort((a, b) => b.share - a.share)
    .slice(0, n);
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
  lines.push(`${s.moodOverall}${EMOJI[o]} ${EMOTION_LABELS[lang][o]} ${formatPercent(summary.shares[o])} · ${s.notes(summary.count)} · ${formatSeconds(summary.talkS)} ${s.talk}`);
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

function sharesLine(shares: EmotionScores): string {
  return '   ' + topShares(shares, 3).map((x) => `${EMOJI[x.emotion]} ${bar(x.share, 5)} ${formatPercent(x.share).padStart(4)}`).join('  ');
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

/** PNG chart of the chat's emotion shares per bucket (drawn off the event loop); undefined when nothing was said. */
export async function renderSummaryPng(summary: MoodSummary, lang: Lang, title?: string): Promise<Uint8Array | undefined> {
  if (summary.count === 0) return undefined;
  const span = summary.toMs - summary.fromMs;
  // Tick labels stay language-neutral ("-6 h", "0") so that they render with any font.
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((at) => ({ at, label: at === 1 ? '0' : `-${formatWindow(span * (1 - at))}` }));
  return renderSharesChartPng({ title: title ?? t(lang).chartTitle, fallbackTitle: t('en').chartTitle, lang, columns: summary.buckets.map((b) => b.shares), ticks });
}
