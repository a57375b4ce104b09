/**
 * Frame timeline: per-frame scores → one window per 0.5 s (dominant emotion = highest mean score of
 * the window's frames) → a text strip with a time axis, or a PNG chart (chart.ts).
 */
import { EMOJI, EMOTIONS, EMOTION_LABELS, type Emotion, type EmotionScores, type Lang } from '../domain/emotions.ts';
import { formatSeconds, t } from './i18n.ts';
import type { FrameScores, Timeline, TimelineWindow } from '../domain/mood.ts';
import { renderSharesChartPng } from './chart.ts';

export const TIMELINE_WINDOW_S = 0.5;
/** Windows per text row: 20 × 0.5 s = 10 s a row. */
const PER_ROW = 20;

export function buildTimeline(frames: FrameScores, options: { windowS?: number; durationS?: number } = {}): Timeline {
  const windowS = options.windowS ?? TIMELINE_WINDOW_S;
  const k = EMOTIONS.length;
  const count = Math.max(0, Math.min(frames.count, Math.floor(frames.scores.length / k)));
  const lastT = count > 0 ? frameTime(frames, count - 1) + 1 / frames.frameRate : 0;
  const durationS = Math.max(options.durationS ?? 0, lastT);
  const n = Math.max(count > 0 ? 1 : 0, Math.ceil(durationS / windowS - 1e-6));
  const sums = Array.from({ length: n }, () => new Float64Array(k));
  const counts = new Uint32Array(n);
  for (let f = 0; f < count; f++) {
    const w = Math.min(n - 1, Math.max(0, Math.floor(frameTime(frames, f) / windowS + 1e-9)));
    for (let j = 0; j < k; j++) sums[w][j] += frames.scores[f * k + j] ?? 0;
    counts[w]++;
  }
  const windows: TimelineWindow[] = [];
  for (let w = 0; w < n; w++) {
    // A window without frames (a gap between segments) repeats nothing: it is 'unknown'.
    const shares = {} as EmotionScores;
    EMOTIONS.forEach((e, j) => (shares[e] = counts[w] > 0 ? sums[w][j] / counts[w] : e === 'unknown' ? 1 : 0));
    windows.push({ startS: w * windowS, endS: Math.min(durationS, (w + 1) * windowS), emotion: dominant(shares), shares });
  }
  return { windowS, durationS, windows };
}

function frameTime(frames: FrameScores, i: number): number {
  return frames.times ? (frames.times[i] ?? i / frames.frameRate) : i / frames.frameRate;
}

function dominant(shares: EmotionScores): Emotion {
  let best: Emotion = EMOTIONS[0];
  for (const e of EMOTIONS) if (shares[e] > shares[best]) best = e;
  return best;
}

/**
 * Text strip: rows of 10 s, each prefixed with its start time, one emoji per 0.5 s, a space every
 * 5 s; then a legend of the emoji that occur.
 */
export function renderTimelineText(timeline: Timeline, lang: Lang, options: { maxRows?: number } = {}): string {
  const s = t(lang);
  if (timeline.windows.length === 0) return s.timelineEmpty;
  const maxRows = options.maxRows ?? Infinity;
  if (Math.ceil(timeline.windows.length / PER_ROW) > maxRows) {
    // Too long for a message: merge windows (×2, ×4, ×10, ×20 …) until it fits.
    const factor = COARSEN.find((f) => Math.ceil(timeline.windows.length / f / PER_ROW) <= maxRows) ?? Math.ceil(timeline.windows.length / (PER_ROW * maxRows));
    timeline = coarsen(timeline, factor);
  }
  const rows: string[] = [];
  for (let i = 0; i < timeline.windows.length; i += PER_ROW) {
    const row = timeline.windows.slice(i, i + PER_ROW).map((w) => EMOJI[w.emotion]);
    const half = PER_ROW / 2;
    const strip = row.slice(0, half).join('') + (row.length > half ? ' ' + row.slice(half).join('') : '');
    rows.push(`${axisLabel(i * timeline.windowS, timeline.durationS)} ${strip}`);
  }
  const used = EMOTIONS.filter((e) => timeline.windows.some((w) => w.emotion === e));
  const legend = used.map((e) => `${EMOJI[e]} ${EMOTION_LABELS[lang][e]}`).join('  ');
  const title = timeline.windowS === TIMELINE_WINDOW_S ? s.timelineTitle : s.timelineTitleEvery(formatSeconds(timeline.windowS).replace('.0 s', ' s'));
  return `${title}\n${rows.join('\n')}\n${legend}`;
}

/** "  10s" for short clips, " 12:30" (min:s) from 10 minutes on. */
function axisLabel(s: number, totalS: number): string {
  const r = Math.round(s);
  if (totalS < 600) return `${String(r).padStart(4)}s`;
  return `${Math.floor(r / 60)}:${String(r % 60).padStart(2, '0')}`.padStart(5);
}

const COARSEN = [2, 4, 10, 20, 60, 120, 240, 600, 1200];

/** Merges every `factor` windows into one (mean shares, dominant of the mean). */
export function coarsen(timeline: Timeline, factor: number): Timeline {
  const windows: TimelineWindow[] = [];
  for (let i = 0; i < timeline.windows.length; i += factor) {
    const group = timeline.windows.slice(i, i + factor);
    const shares = {} as EmotionScores;
    for (const e of EMOTIONS) shares[e] = group.reduce((a, w) => a + w.shares[e], 0) / group.length;
    windows.push({ startS: group[0].startS, endS: group[group.length - 1].endS, emotion: dominant(shares), shares });
  }
  return { windowS: timeline.windowS * factor, durationS: timeline.durationS, windows };
}

/** PNG chart of the timeline: stacked bars of the 9 shares per window (drawn off the event loop). */
export function renderTimelinePng(timeline: Timeline, lang: Lang): Promise<Uint8Array> {
  return renderSharesChartPng({
    title: t(lang).chartTitle,
    fallbackTitle: t('en').chartTitle,
    lang,
    columns: timeline.windows.map((w) => w.shares),
    axis: { start: 0, end: timeline.durationS, unit: 's' },
  });
}
