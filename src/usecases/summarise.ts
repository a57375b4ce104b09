/**
 * Summaries of a window of history: per member dominant emotion, counts, shares and talk time,
 * the chat's overall mood, and time buckets for the chart. Shares are weighted by talk time, so a
 * long angry note weighs more than a short happy one.
 */
import { EMOTIONS, type Emotion, type EmotionScores } from '../domain/emotions.ts';
import type { HistoryEntry, HistoryStore } from '../domain/history.ts';
import type { Platform } from '../domain/platform.ts';
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

/**
 * The summary use case of /mood: a chat's entries over [fromMs, toMs) from a history — the store
 * (a chat's voice notes, a voice channel's past utterances) or a live session's state read the
 * same way (src/bots/discord/voice/summary.ts) — summarised as above.
 */
export async function summariseChat(history: Pick<HistoryStore, 'listChat'>, options: SummarizeOptions): Promise<MoodSummary> {
  const entries = await history.listChat(options.platform, options.chatId, { since: options.fromMs, until: options.toMs });
  return summarize(entries, options);
}

/** Top `n` shares, largest first, skipping zeros. */
export function topShares(shares: EmotionScores, n: number): { emotion: Emotion; share: number }[] {
  return EMOTIONS.map((emotion) => ({ emotion, share: shares[emotion] }))
    .filter((x) => x.share > 0)
    .sort((a, b) => b.share - a.share)
    .slice(0, n);
}
