/**
 * PNG charts of emotion shares over time: stacked bars (one column per time step, the 9 shares
 * stacked in model order), drawn as SVG and rasterised with @resvg/resvg-js. Text (title, legend,
 * ticks) is decoration only: nothing depends on a font being installed. PNGs are drawn on a worker
 * thread (chartThread.ts), off the event loop.
 */
import { existsSync, readdirSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { EMOTIONS, EMOTION_LABELS, type Emotion, type EmotionScores, type Lang } from '../domain/emotions.ts';
import { escapeXml } from './text.ts';
import { chartThread } from './chartThread.ts';

/** One colour per class, chosen to be told apart (anger red, disgust green, sadness blue …). */
export const EMOTION_COLORS: Readonly<Record<Emotion, string>> = {
  angry: '#d62728',
  disgusted: '#6b8e23',
  fearful: '#9467bd',
  happy: '#ffbf00',
  neutral: '#a0a0a0',
  other: '#17becf',
  sad: '#1f77b4',
  surprised: '#ff7f0e',
  unknown: '#e0e0e0',
};

export interface SharesChart {
  title: string;
  lang: Lang;
  /** One column per time step; an all-zero column is drawn empty (nobody spoke). */
  columns: EmotionScores[];
  /** Tick labels along the x axis at fractions 0..1 of its width. */
  ticks?: { at: number; label: string }[];
  /** Title in English, used when `lang` is zh but no Chinese font is installed. */
  fallbackTitle?: string;
  /** Shortcut: ticks from a numeric axis (e.g. 0..12 s). Ignored when `ticks` is given. */
  axis?: { start: number; end: number; unit: string };
}

const W = 900;
const H = 380;
const PLOT = { x: 50, y: 40, w: 680, h: 290 };

/** Font families tried in order; CJK ones come after DejaVu so Latin text keeps its look. */
const FONT_FAMILIES = 'DejaVu Sans, Noto Sans CJK SC, Noto Sans SC, WenQuanYi Micro Hei, WenQuanYi Zen Hei, AR PL UMing CN, Droid Sans Fallback, sans-serif';

let cjkFont: boolean | undefined;
/**
 * Whether a font that can draw Chinese is installed (common Linux packages: fonts-noto-cjk,
 * fonts-wqy-*, fonts-arphic-*, fonts-droid-fallback). Without one, Chinese chart text would be
 * empty boxes, so charts fall back to English text (the bars do not depend on it).
 */
export function hasCjkFont(): boolean {
  if (cjkFont !== undefined) return cjkFont;
  const roots = ['/usr/share/fonts', '/usr/local/share/fonts', `${process.env.HOME ?? ''}/.fonts`, `${process.env.HOME ?? ''}/.local/share/fonts`];
  const pattern = /cjk|wqy|wenquanyi|uming|ukai|droidsansfallback|notosanssc|sourcehansans|simhei|simsun|msyh|pingfang/i;
  const seen = (dir: string, depth: number): boolean => {
    if (depth > 4 || !existsSync(dir)) return false;
    try {
      for (const d of readdirSync(dir, { withFileTypes: true })) {
        if (pattern.test(d.name)) return true;
        if (d.isDirectory() && seen(`${dir}/${d.name}`, depth + 1)) return true;
      }
    } catch {
      return false;
    }
    return false;
  };
  cjkFont = roots.some((r) => seen(r, 0));
  return cjkFont;
}

export function renderSharesChartSvg(chart: SharesChart): string {
  const lang: Lang = chart.lang === 'zh' && !hasCjkFont() ? 'en' : chart.lang;
  const title = lang === chart.lang ? chart.title : (chart.fallbackTitle ?? '');
  const n = Math.max(1, chart.columns.length);
  const colW = PLOT.w / n;
  const gap = colW > 4 ? Math.min(2, colW * 0.15) : 0;
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${PLOT.x}" y="24" font-size="16" fill="#222">${escapeXml(title)}</text>`);
  parts.push(`<rect x="${PLOT.x}" y="${PLOT.y}" width="${PLOT.w}" height="${PLOT.h}" fill="#f7f7f7" stroke="#cccccc"/>`);
  chart.columns.forEach((col, i) => {
    const total = EMOTIONS.reduce((a, e) => a + Math.max(0, col[e] || 0), 0);
    if (total <= 0) return;
    let y = PLOT.y + PLOT.h;
    for (const e of EMOTIONS) {
      const h = (Math.max(0, col[e] || 0) / total) * PLOT.h;
      if (h <= 0) continue;
      y -= h;
      parts.push(
        `<rect x="${fmt(PLOT.x + i * colW + gap / 2)}" y="${fmt(y)}" width="${fmt(Math.max(0.5, colW - gap))}" height="${fmt(h)}" fill="${EMOTION_COLORS[e]}"/>`,
      );
    }
  });
  for (const pct of [0, 50, 100]) {
    const y = PLOT.y + PLOT.h - (pct / 100) * PLOT.h;
    parts.push(`<text x="${PLOT.x - 6}" y="${fmt(y + 4)}" font-size="11" fill="#555" text-anchor="end">${pct}%</text>`);
  }
  for (const tick of ticksOf(chart)) {
    const x = PLOT.x + Math.max(0, Math.min(1, tick.at)) * PLOT.w;
    parts.push(`<line x1="${fmt(x)}" y1="${PLOT.y + PLOT.h}" x2="${fmt(x)}" y2="${PLOT.y + PLOT.h + 5}" stroke="#555"/>`);
    parts.push(`<text x="${fmt(x)}" y="${PLOT.y + PLOT.h + 18}" font-size="11" fill="#555" text-anchor="middle">${escapeXml(tick.label)}</text>`);
  }
  EMOTIONS.forEach((e, i) => {
    const y = PLOT.y + 8 + i * 30;
    parts.push(`<rect x="${PLOT.x + PLOT.w + 20}" y="${y}" width="16" height="16" fill="${EMOTION_COLORS[e]}"/>`);
    parts.push(`<text x="${PLOT.x + PLOT.w + 42}" y="${y + 13}" font-size="13" fill="#222">${escapeXml(EMOTION_LABELS[lang][e])}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT_FAMILIES}">${parts.join('')}</svg>`;
}

function ticksOf(chart: SharesChart): { at: number; label: string }[] {
  if (chart.ticks) return chart.ticks;
  if (!chart.axis) return [];
  const { start, end, unit } = chart.axis;
  const span = end - start;
  if (!(span > 0)) return [];
  const step = niceStep(span / 6);
  const out: { at: number; label: string }[] = [];
  for (let v = Math.ceil(start / step) * step; v <= end + 1e-9; v += step) out.push({ at: (v - start) / span, label: `${+v.toFixed(2)} ${unit}` });
  return out;
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function fmt(x: number): string {
  return x.toFixed(2);
}

/** Rasterises an SVG to PNG bytes. */
export function svgToPng(svg: string): Uint8Array {
  const resvg = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: '#ffffff' });
  return new Uint8Array(resvg.render().asPng());
}

/**
 * PNG bytes of the chart, drawn on a worker thread (chartThread.ts): a 10-minute timeline takes
 * ~250 ms to draw, which the event loop must not wait for. The bytes are those of
 * `svgToPng(renderSharesChartSvg(chart))`.
 */
export function renderSharesChartPng(chart: SharesChart): Promise<Uint8Array> {
  return chartThread().render(chart);
}
