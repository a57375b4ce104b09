import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCard, renderCardBars, renderCardText, renderCardTitle } from '../../src/render/card.ts';
import { EMOTIONS, namedScores, topEmotion } from '../../src/domain/emotions.ts';
import { bar, displayWidth, escapeHtml, escapeCodeBlock } from '../../src/render/text.ts';
import { formatPercent, formatSeconds, t } from '../../src/render/i18n.ts';
import { langFromCode } from '../../src/domain/lang.ts';

const scores = namedScores([0.312, 0.05, 0.02, 0.4, 0.1, 0.05, 0.03, 0.02, 0.018]);
const input = { ...topEmotion(scores), scores, durationS: 3.24 };

test('card: winner, confidence, duration and all 9 bars in model order', () => {
  const card = buildCard(input, 'en');
  assert.equal(card.emotion, 'happy');
  assert.equal(card.emoji, '😊');
  assert.equal(card.label, 'Happy');
  assert.deepEqual(
    card.bars.map((b) => b.emotion),
    [...EMOTIONS],
  );
  assert.equal(renderCardTitle(card), '😊 Happy · 40% confidence · 3.2 s');
  const lines = renderCardBars(card).split('\n');
  assert.equal(lines.length, 9);
  assert.equal(lines[0], '😠 Angry     ███▊          31.2%');
  assert.match(lines[3], /^😊 Happy +████▊ +40\.0%$/);
  // Every row has the same display width, so the percentages line up in a monospace block.
  assert.equal(new Set(lines.map(displayWidth)).size, 1);
  assert.ok(renderCardText(card).startsWith(renderCardTitle(card) + '\n\n'));
});

test('card in Chinese: labels and UI words from the zh tables, still aligned', () => {
  const card = buildCard(input, 'zh');
  assert.equal(card.label, '开心');
  assert.equal(renderCardTitle(card), '😊 开心 · 40% 置信度 · 3.2 s');
  const lines = renderCardBars(card).split('\n');
  assert.ok(lines[0].startsWith('😠 生气 '));
  assert.equal(new Set(lines.map(displayWidth)).size, 1);
});

test('bars, widths, formats and escaping', () => {
  assert.equal(bar(0, 4), '    ');
  assert.equal(bar(1, 4), '████');
  assert.equal(bar(0.5, 4), '██  ');
  assert.equal(bar(1 / 32, 4), '▏   ');
  assert.equal(bar(Number.NaN, 3), '   ');
  assert.equal(bar(7, 3), '███');
  assert.equal(displayWidth('😠 生气 a'), 9);
  assert.equal(formatPercent(0.4), '40%');
  assert.equal(formatPercent(0.042), '4.2%');
  assert.equal(formatSeconds(3.24), '3.2 s');
  assert.equal(formatSeconds(65), '1 min 05 s');
  assert.equal(formatSeconds(7200), '2 h');
  assert.equal(escapeHtml('<b>&"'), '&lt;b&gt;&amp;&quot;');
  assert.ok(!escapeCodeBlock('a```b').includes('```'));
  assert.equal(langFromCode('zh-hans'), 'zh');
  assert.equal(langFromCode('de'), 'en');
});

test('i18n: both languages have every string, none empty', () => {
  const keys = (o: object): string[] => Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v).map((x) => `${k}.${x}`) : [k]));
  assert.deepEqual(keys(t('zh')).sort(), keys(t('en')).sort());
  for (const lang of ['en', 'zh'] as const) {
    for (const [k, v] of Object.entries(t(lang).errors)) assert.ok(v.length > 5, `${lang} errors.${k}`);
    assert.notEqual(t(lang).help, '');
  }
  assert.notEqual(t('en').help, t('zh').help);
});
