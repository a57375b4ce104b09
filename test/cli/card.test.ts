/** The terminal card printed by `voicemood analyze` on a TTY. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTerminalCard } from '../../src/cli/card.ts';
import { EMOJI, EMOTIONS, namedScores } from '../../src/domain/emotions.ts';

const scores = namedScores([0.05, 0.02, 0.03, 0.6, 0.1, 0.05, 0.1, 0.03, 0.02]);

test('the card: emoji, label, confidence, and all 9 score bars', () => {
  const text = renderTerminalCard({ emotion: 'happy', confidence: 0.6, scores, durationS: 3.2 });
  const lines = text.split('\n');
  assert.match(lines[0], /😊 Happy · 60(\.0)?% .* 3\.2 s/);
  for (const e of EMOTIONS) assert.ok(text.includes(EMOJI[e]), e);
  assert.equal(lines.filter((l) => /\d+\.\d%$/.test(l)).length, 9);
  assert.ok(!/timeline/i.test(text));
});

test('with frames: a timeline with one symbol per 0.5 s', () => {
  // 2 s at 50 frames/s: first second happy, second second sad.
  const count = 100;
  const frameScores = new Float32Array(count * 9);
  for (let t = 0; t < count; t++) frameScores[t * 9 + (t < 50 ? 3 : 6)] = 1;
  const text = renderTerminalCard(
    { emotion: 'happy', confidence: 0.6, scores, durationS: 2, frames: { count, frameRate: 50, scores: frameScores } },
    { timeline: true },
  );
  const strip = text.split('\n').find((l) => /^\s*0s /.test(l));
  assert.ok(strip, text);
  assert.equal(strip.replace(/^\s*0s /, '').replace(/ /g, ''), '😊😊😢😢');
});

test('Chinese labels with --lang zh', () => {
  assert.match(renderTerminalCard({ emotion: 'sad', confidence: 0.5, scores, durationS: 1 }, { lang: 'zh' }), /😢 难过/);
});
