import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, weightedShares } from '../../src/usecases/summarise.ts';
import { renderSummaryBody, renderSummaryPng } from '../../src/render/summary.ts';
import { namedScores, type Emotion } from '../../src/domain/emotions.ts';
import type { HistoryEntry } from '../../src/domain/history.ts';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const H = 3_600_000;
function e(userId: string, at: number, emotion: Emotion, durationS: number, chatId = 'g'): HistoryEntry {
  const row = Array(9).fill(0.02);
  const idx = ['angry', 'disgusted', 'fearful', 'happy', 'neutral', 'other', 'sad', 'surprised', 'unknown'].indexOf(emotion);
  row[idx] = 0.84;
  return {
    id: `${userId}${at}`,
    at,
    platform: 'telegram',
    userId,
    userName: userId.toUpperCase(),
    chatId,
    source: 'voice_note',
    durationS,
    emotion,
    confidence: 0.84,
    scores: namedScores(row),
  };
}

test('summary: per member dominant emotion, counts, talk time; overall mood; window and chat filters', async () => {
  const entries = [
    e('ann', T0 + 1 * H, 'angry', 10),
    e('ann', T0 + 2 * H, 'happy', 2),
    e('ann', T0 + 3 * H, 'happy', 2),
    e('bob', T0 + 4 * H, 'sad', 3),
    e('bob', T0 - 1 * H, 'angry', 100), // before the window
    e('cat', T0 + 5 * H, 'happy', 50, 'other-chat'), // another chat
  ];
  const s = summarize(entries, { platform: 'telegram', chatId: 'g', fromMs: T0, toMs: T0 + 24 * H });
  assert.equal(s.count, 4);
  assert.equal(s.talkS, 17);
  assert.deepEqual(
    s.members.map((m) => m.name),
    ['ANN', 'BOB'],
  ); // most talk first
  const ann = s.members[0];
  assert.equal(ann.dominant, 'angry', 'talk-time weighted: 10 s angry beat 4 s happy');
  assert.equal(ann.counts.happy, 2);
  assert.equal(ann.counts.angry, 1);
  assert.equal(ann.count, 3);
  assert.ok(Math.abs(ann.shares.angry - (10 * 0.84 + 4 * 0.02) / 14) < 1e-9);
  assert.equal(s.overall, 'angry');
  assert.equal(s.buckets.length, 24);
  assert.equal(s.buckets[1].talkS, 10);
  assert.equal(s.buckets[0].talkS, 0);
  const body = renderSummaryBody(s, 'en');
  assert.match(body, /^Overall: 😠 Angry 50% · 4 notes · 17 s talk/);
  assert.match(body, /😠 ANN +3 notes · 14 s talk/);
  assert.match(body, /😢 BOB +1 note · 3\.0 s talk/);
  assert.ok(!body.includes('CAT'));
  assert.match(renderSummaryBody(s, 'zh'), /^整体：😠 生气/);
  const png = (await renderSummaryPng(s, 'en'))!;
  assert.equal(Buffer.from(png.subarray(1, 4)).toString(), 'PNG');
});

test('summary of nothing: empty sentence and no chart', async () => {
  const s = summarize([], { platform: 'discord', chatId: 'v', fromMs: T0, toMs: T0 + 300_000 });
  assert.equal(s.overall, undefined);
  assert.equal(s.count, 0);
  assert.equal(renderSummaryBody(s, 'en'), 'No voice notes here in that window yet.');
  assert.equal(await renderSummaryPng(s, 'en'), undefined);
  const zero = weightedShares([]);
  assert.equal(zero.angry, 0);
});
