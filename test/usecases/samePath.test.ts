/**
 * Issue 12, "a Discord voice-channel utterance and a Telegram voice note pass through the same
 * use-case functions": the same clip, sent three times by the same person as a Telegram voice note
 * (handleVoice, what the Telegram adapter calls) and spoken three times in a Discord voice channel
 * (the receive pipeline: Opus packets → VoiceSession → channelUseCases, what VoiceListeners wires),
 * leaves the same history entries and raises the same moderation signal.
 *
 * The engine is a stub with fixed scores (the point is the path, not the model). Segments of 1 s
 * (VOICEMOOD_AUDIO_SEGMENT_SECONDS) show that an utterance is segmented like a note: 3 engine calls
 * per analysis on both paths. Durations are compared to 0.1 s: the Discord receive path (Opus,
 * 48 → 16 kHz, 20 ms VAD frames) ends the same clip up to a frame earlier than the decoded file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { handleVoice } from '../../src/commands/index.ts';
import type { AlertReply } from '../../src/commands/types.ts';
import { channelUseCases } from '../../src/bots/discord/voice/channelUseCases.ts';
import { VoiceSession } from '../../src/bots/discord/voice/session.ts';
import type { HistoryEntry } from '../../src/domain/history.ts';
import type { ModerationSignal } from '../../src/domain/mood.ts';
import { FakeVoiceReceiver } from '../fakes/discord/voiceReceiver.ts';
import { FIXTURES, loadSpeech } from '../bots/discord/voiceHarness.ts';
import { harness, scoresFor, type Harness } from '../commands/helpers.ts';

const CLIP = 'speaker-b.wav';
const SPEAKER = { id: '42', name: 'Bob' };
const REPEATS = 3; // the default repeatCount of the repeated_negative rule
const STEP_MS = 30_000;

/** Shares to 9 places: weighted means of equal scores may differ in the last bit. */
const r9 = (x: number) => Math.round(x * 1e9) / 1e9;
const roundScores = (scores: Record<string, number>) => Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, r9(v)]));

/** An entry without what names the place, the platform, the store's id, or the time. */
function comparableEntry(e: HistoryEntry) {
  const { id: _id, at: _at, platform: _p, source: _s, chatId: _c, guildId: _g, durationS, ...rest } = e;
  return { ...rest, scores: roundScores(rest.scores), confidence: r9(rest.confidence), durationS: Math.round(durationS * 10) / 10 };
}

/** A signal without its id, platform, place or time. */
function comparableSignal(sig: ModerationSignal) {
  const { id: _id, at: _at, platform: _p, chatId: _c, guildId: _g, members, ...rest } = sig;
  return {
    ...rest,
    scores: roundScores(rest.scores),
    negativeShare: r9(rest.negativeShare),
    members: members.map((m) => ({ ...m, negativeShare: r9(m.negativeShare), talkS: Math.round(m.talkS * 10) / 10 })),
  };
}

/** What both paths must give for the clip: the stub's scores, the clip's length, three angry entries. */
const EXPECTED_ENTRY = { userId: SPEAKER.id, userName: SPEAKER.name, emotion: 'angry', confidence: 0.6, scores: scoresFor('angry'), durationS: 2.8 };
const EXPECTED_SIGNAL = {
  kind: 'repeated_negative',
  windowS: 600,
  count: REPEATS,
  scores: scoresFor('angry'),
  negativeShare: 0.65,
  trend: 'rising',
  members: [{ userId: SPEAKER.id, name: SPEAKER.name, count: REPEATS, negativeShare: 0.65, talkS: 8.4 }],
};

async function setUp(t: { after(fn: () => unknown): void }): Promise<Harness> {
  const before = process.env.VOICEMOOD_AUDIO_SEGMENT_SECONDS;
  process.env.VOICEMOOD_AUDIO_SEGMENT_SECONDS = '1';
  const h = await harness();
  h.engine.next = 'angry';
  t.after(async () => {
    if (before === undefined) delete process.env.VOICEMOOD_AUDIO_SEGMENT_SECONDS;
    else process.env.VOICEMOOD_AUDIO_SEGMENT_SECONDS = before;
    await h.close();
  });
  return h;
}

function assertSame(entries: HistoryEntry[], signals: ModerationSignal[], source: HistoryEntry['source']): void {
  assert.equal(entries.length, REPEATS);
  for (const e of entries) {
    assert.equal(e.source, source);
    assert.deepEqual(comparableEntry(e), EXPECTED_ENTRY);
  }
  assert.equal(signals.length, 1, 'one signal, on the last repetition only');
  assert.deepEqual(comparableSignal(signals[0]), EXPECTED_SIGNAL);
}

test('telegram: a voice note of the clip, three times in a group → the shared history entry and repeated_negative signal', async (t) => {
  const h = await setUp(t);
  const bytes = new Uint8Array(await readFile(new URL(CLIP, FIXTURES)));
  await h.services.settings.setChatSettings('telegram', 'G', { alertAdmins: ['admin'] });
  const signals: ModerationSignal[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const calls = h.engine.calls;
    const replies = await handleVoice(h.ctx({ userId: SPEAKER.id, name: SPEAKER.name, chatId: 'G', kind: 'group' }), h.services, {
      bytes,
      filename: CLIP,
      trigger: 'auto',
    });
    assert.equal(h.engine.calls - calls, 3, 'segmented into 1 s pieces');
    const alerts = replies.filter((r): r is AlertReply => r.kind === 'alert');
    assert.equal(alerts.length, i === REPEATS - 1 ? 1 : 0);
    signals.push(...alerts.map((a) => a.signal));
    h.clock.now += STEP_MS;
  }
  assertSame(await h.services.history.listChat('telegram', 'G'), signals, 'voice_note');
});

test('discord: the clip spoken three times in a voice channel → the same history entry and moderation signal', async (t) => {
  const h = await setUp(t);
  const clip = await loadSpeech(CLIP);
  const guildId = 'guild';
  const channelId = 'voice';
  await h.services.settings.setChatSettings('discord', guildId, { consentMode: 'opt_out', logChannelId: 'log' });
  const signals: ModerationSignal[] = [];
  const receiver = new FakeVoiceReceiver();
  const session = new VoiceSession({
    guildId,
    channelId,
    engine: h.services.engine,
    clock: h.services.clock,
    logger: h.services.logger,
    displayName: () => SPEAKER.name,
    ...channelUseCases(h.services, {
      guildId,
      scope: () => ({ guildId, channelId, channelName: 'Lounge' }),
      moderating: () => true,
      postAlert: async (alert) => void signals.push(alert.signal),
    }),
  });
  t.after(() => session.stop());
  session.attach(receiver);
  for (let i = 0; i < REPEATS; i++) {
    const calls = h.engine.calls;
    receiver.startSpeaking(SPEAKER.id);
    const stream = await receiver.subscribed(SPEAKER.id);
    for (const p of clip.packets) receiver.packet(SPEAKER.id, p);
    const closed = new Promise((r) => stream.once('close', r));
    receiver.end(SPEAKER.id);
    await closed;
    await session.idle();
    assert.equal(h.engine.calls - calls, 3, 'segmented into 1 s pieces');
    assert.equal(signals.length, i === REPEATS - 1 ? 1 : 0);
    h.clock.now += STEP_MS;
  }
  assertSame(await h.services.history.listChat('discord', channelId), signals, 'voice_channel');
});
