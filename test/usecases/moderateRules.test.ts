import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHeated, checkRepeatedNegative, type ModerationItem } from '../../src/usecases/moderate.ts';
import { InMemoryModerationGate } from '../../src/state/moderationGate.ts';
import { DEFAULT_MODERATION, resolveThresholds } from '../../src/domain/moderation.ts';
import { namedScores, type Emotion } from '../../src/domain/emotions.ts';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const scope = { platform: 'telegram' as const, chatId: 'g1' };
function item(userId: string, atS: number, emotion: Emotion, durationS = 3, angry = emotion === 'angry' ? 0.8 : 0.05): ModerationItem {
  const disgusted = emotion === 'disgusted' ? 0.8 : (1 - angry) / 8;
  const rest = (1 - angry - disgusted) / 7;
  return { userId, name: userId, at: T0 + atS * 1000, durationS, emotion, scores: namedScores([angry, disgusted, rest, rest, rest, rest, rest, rest, rest]) };
}

test('defaults are documented values; overrides are bounded', () => {
  assert.deepEqual(
    { ...DEFAULT_MODERATION },
    { repeatCount: 3, repeatWindowS: 600, heatedShare: 0.5, heatedWindowS: 120, heatedMinSpeechS: 20, groupSpeakers: 2, cooldownS: 600, maxPerHour: 6 },
  );
  assert.equal(resolveThresholds({ repeatCount: 5 }).repeatCount, 5);
  assert.equal(resolveThresholds({ repeatCount: -1 }).repeatCount, 3);
  assert.equal(resolveThresholds({ heatedShare: Number.NaN }).heatedShare, 0.5);
});

test('Telegram rule: 3 angry/disgusted notes of one member within 10 min → a signal, 2 → none', () => {
  const now = T0 + 600_000;
  const items = [item('ann', 100, 'angry'), item('ann', 300, 'disgusted'), item('bob', 310, 'angry'), item('bob', 320, 'angry'), item('ann', 50, 'happy')];
  assert.equal(checkRepeatedNegative(items, 'ann', scope, now), undefined);
  assert.equal(checkRepeatedNegative(items, 'bob', scope, now), undefined);
  const more = [...items, item('ann', 590, 'angry')];
  const sig = checkRepeatedNegative(more, 'ann', scope, now)!;
  assert.equal(sig.kind, 'repeated_negative');
  assert.equal(sig.count, 3);
  assert.deepEqual(
    sig.members.map((m) => m.userId),
    ['ann'],
  );
  assert.equal(sig.windowS, 600);
  assert.equal(sig.trend, 'rising'); // first half: happy + angry; second half: disgusted + angry
  // The first note slides out of the window 10 min later.
  assert.equal(checkRepeatedNegative(more, 'ann', scope, T0 + 100_000 + 600_001), undefined);
  // A chat may lower the count.
  assert.ok(checkRepeatedNegative(items, 'bob', scope, now, resolveThresholds({ repeatCount: 2 })));
});

test('Discord rules: heated speaker needs share and speech time; two at once → one group signal', () => {
  const now = T0 + 120_000;
  const calm = [item('ann', 10, 'neutral', 15), item('ann', 60, 'neutral', 15)];
  const shortAngry = [item('bob', 100, 'angry', 8)]; // share high but only 8 s of speech
  assert.deepEqual(checkHeated([...calm, ...shortAngry], scope, now), []);
  const angryCat = [item('cat', 30, 'angry', 12), item('cat', 100, 'angry', 12)];
  const one = checkHeated([...calm, ...shortAngry, ...angryCat], scope, now);
  assert.equal(one.length, 1);
  assert.equal(one[0].kind, 'heated_speaker');
  assert.equal(one[0].members[0].userId, 'cat');
  assert.ok(one[0].negativeShare > 0.8);
  const angryDan = [item('dan', 90, 'angry', 25)];
  const group = checkHeated([...calm, ...angryCat, ...angryDan], scope, now);
  assert.equal(group.length, 1);
  assert.equal(group[0].kind, 'heated_group');
  assert.deepEqual(group[0].members.map((m) => m.userId).sort(), ['cat', 'dan']);
  // Outside the rolling window nothing counts.
  assert.deepEqual(checkHeated(angryCat, scope, T0 + 100_000 + 121_000), []);
});

test('gate: cooldown per member, cap per chat per hour, snooze and acknowledge', () => {
  let now = T0;
  const gate = new InMemoryModerationGate({ clock: () => now });
  const sigFor = (userId: string, chatId = 'g1') =>
    checkRepeatedNegative([item(userId, -3, 'angry'), item(userId, -2, 'angry'), item(userId, -1, 'angry')], userId, { ...scope, chatId }, T0)!;
  const a1 = sigFor('ann');
  assert.equal(gate.admit(a1), true);
  assert.equal(gate.admit(sigFor('ann')), false, 'cooldown');
  assert.equal(gate.admit(sigFor('ann', 'g2')), true, 'another chat has its own cooldown');
  now += 601_000;
  assert.equal(gate.admit(sigFor('ann')), true, 'after the cooldown');
  // Per-hour cap of the chat.
  let admitted = 0;
  for (const u of ['b', 'c', 'd', 'e', 'f', 'g', 'h']) if (gate.admit(sigFor(u))) admitted++;
  assert.equal(admitted, 4, '6 per hour: 2 already sent');
  now += 3_600_000;
  const s2 = sigFor('zed');
  assert.equal(gate.admit(s2), true);
  assert.equal(gate.snooze(s2.id, 1800), true);
  assert.equal(gate.admit(sigFor('yan')), false, 'snoozed');
  now += 1_801_000;
  const s3 = sigFor('yan');
  assert.equal(gate.admit(s3), true);
  now += 599_000;
  assert.equal(gate.acknowledge(s3.id, 'admin'), true);
  now += 2_000;
  assert.equal(gate.admit(sigFor('yan')), false, 'acknowledge restarted the cooldown');
  assert.equal(gate.acknowledge('nope', 'admin'), false);
  // Custom limits from chat settings.
  assert.equal(new InMemoryModerationGate({ clock: () => now }).admit(sigFor('q'), { maxPerHour: 1, cooldownS: 0 }), true);
});
