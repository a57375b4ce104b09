/** The moderation use case over history: recipients, every rule on every input, opt-outs, utterance end times. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EntrySource } from '../../src/domain/history.ts';
import { moderate } from '../../src/usecases/moderate.ts';
import { harness, scoresFor, type Harness } from '../commands/helpers.ts';

async function say(
  h: Harness,
  o: { platform?: 'telegram' | 'discord'; chatId: string; userId: string; agoS: number; durationS: number; source?: EntrySource; guildId?: string },
) {
  await h.services.history.append({
    at: h.clock.now - o.agoS * 1000,
    platform: o.platform ?? 'telegram',
    userId: o.userId,
    userName: o.userId.toUpperCase(),
    chatId: o.chatId,
    ...(o.guildId ? { guildId: o.guildId } : {}),
    source: o.source ?? 'voice_note',
    durationS: o.durationS,
    emotion: 'angry',
    confidence: 0.6,
    scores: scoresFor('angry'),
  });
}

test('nobody asked for alerts: no signal, and the gate is not spent', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  for (const agoS of [30, 20, 10]) await say(h, { chatId: 'G', userId: 'ann', agoS, durationS: 2 });
  const input = { platform: 'telegram' as const, chatId: 'G', settingsScope: 'G', memberId: 'ann', now: h.clock.now };
  assert.deepEqual((await moderate(h.services, input)).signals, []);
  await h.services.settings.setChatSettings('telegram', 'G', { alertAdmins: ['boss'] });
  assert.deepEqual(
    (await moderate(h.services, input)).signals.map((s) => s.kind),
    ['repeated_negative'],
    'admitted at once: no cooldown was spent before',
  );
  assert.deepEqual((await moderate(h.services, input)).signals, [], 'then the cooldown holds');
});

test('the heated rules apply to voice notes too; a member who opted out is left out of a group signal', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.services.settings.setChatSettings('telegram', 'G', { alertAdmins: ['boss'] });
  for (const userId of ['ann', 'bob']) for (const agoS of [60, 30]) await say(h, { chatId: 'G', userId, agoS, durationS: 12 });
  await h.services.settings.setUserSettings('telegram', 'bob', { privacy: 'out' });
  const { signals } = await moderate(h.services, { platform: 'telegram', chatId: 'G', settingsScope: 'G', memberId: 'ann', now: h.clock.now });
  assert.deepEqual(
    signals.map((s) => [s.kind, s.members.map((m) => m.userId)]),
    [['heated_speaker', ['ann']]],
    'two notes are not 3 (no repeated_negative); Bob opted out',
  );
});

test('an utterance counts from when it ended: one that started before the window but ended inside it is heated speech', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.services.settings.setChatSettings('discord', 'S', { logChannelId: 'log' });
  const where = { platform: 'discord' as const, chatId: 'V', guildId: 'S', source: 'voice_channel' as const };
  // Started 130 s ago (outside the 120 s window), ended 115 s ago; plus 10 s of speech just now.
  await say(h, { ...where, userId: 'cat', agoS: 130, durationS: 15 });
  await say(h, { ...where, userId: 'cat', agoS: 10, durationS: 10 });
  const { signals } = await moderate(h.services, { platform: 'discord', chatId: 'V', guildId: 'S', settingsScope: 'S', memberId: 'cat', now: h.clock.now });
  assert.deepEqual(
    signals.map((s) => [s.kind, s.members[0].talkS]),
    [['heated_speaker', 25]],
  );
});
