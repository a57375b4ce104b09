/**
 * Chinese charts need a CJK font on the server (scripts/setup.sh installs fonts-wqy-microhei):
 * a Chinese chart must carry the Chinese title and labels, not the English fallback, and resvg must
 * really draw those glyphs. Outside CI a machine without such a font skips with the reason; in CI
 * a missing font fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resvg } from '@resvg/resvg-js';
import { hasCjkFont, renderSharesChartPng, renderSharesChartSvg, type SharesChart } from '../../src/render/chart.ts';
import { EMOTIONS, EMOTION_LABELS, namedScores } from '../../src/domain/emotions.ts';

const font = hasCjkFont();
if (!font && process.env.CI === 'true') throw new Error('No CJK font installed in CI: scripts/setup.sh installs fonts-wqy-microhei.');
const skip = font ? false : 'no CJK font installed (apt-get install fonts-wqy-microhei); Chinese charts fall back to English here';
if (skip) console.log(`# skipping: ${skip}`);

const chart: SharesChart = {
  title: '情绪占比（最近 24 小时）',
  fallbackTitle: 'Emotion shares (last 24 h)',
  lang: 'zh',
  columns: [namedScores([0.5, 0, 0, 0.3, 0.2, 0, 0, 0, 0]), namedScores([0, 0, 0, 0.1, 0.6, 0, 0.3, 0, 0])],
  axis: { start: 0, end: 24, unit: 'h' },
};

/** Pixels (RGBA) of an SVG, rendered the way svgToPng does. */
function pixels(svg: string): Buffer {
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: '#ffffff' }).render().pixels;
}

test('a Chinese chart has its Chinese title and labels, not the English fallback, and the glyphs are drawn', { skip }, async () => {
  const svg = renderSharesChartSvg(chart);
  assert.ok(svg.includes(chart.title), 'Chinese title');
  assert.ok(!svg.includes(chart.fallbackTitle!), 'not the English title');
  for (const e of EMOTIONS) {
    assert.ok(svg.includes(`>${EMOTION_LABELS.zh[e]}<`), `label ${EMOTION_LABELS.zh[e]}`);
    assert.ok(!svg.includes(`>${EMOTION_LABELS.en[e]}<`), `no English label ${EMOTION_LABELS.en[e]}`);
  }
  // Without a usable font resvg draws every Chinese character as the same missing-glyph box, just
  // like a private-use character that no font has: the two charts would rasterise identically
  // (checked: 0 differing pixels with DejaVu alone, thousands with WenQuanYi Micro Hei).
  const withText = pixels(svg);
  const withoutText = pixels(svg.replace(/[\u4e00-\u9fff]/g, '\ue000'));
  let differing = 0;
  for (let i = 0; i < withText.length; i += 4)
    if (withText[i] !== withoutText[i] || withText[i + 1] !== withoutText[i + 1] || withText[i + 2] !== withoutText[i + 2]) differing++;
  assert.ok(differing > 300, `only ${differing} pixels differ: the Chinese glyphs were not drawn`);
  const png = await renderSharesChartPng(chart);
  assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
});
