import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelMood } from '../../../src/bots/discord/voice/channelMood.ts';
import { encodeOpusPackets } from '../../../src/bots/discord/voice/opus.ts';
import { VoiceSession } from '../../../src/bots/discord/voice/session.ts';
import { EMOTIONS, namedScores, topEmotion } from '../../../src/domain/emotions.ts';
import type { EmotionEngine, EmotionResult } from '../../../src/inference/types.ts';
import { createLogger } from '../../../src/util/log.ts';
import { FakeVoiceReceiver } from '../../fakes/discord/voiceReceiver.ts';

const scores = namedScores(EMOTIONS.map((e) => (e === 'happy' ? 0.6 : 0.05)));
const record = (at: number, durationS = 2) => ({ at, durationS, emotion: 'happy' as const, confidence: 0.6, scores });

test('ChannelMood: ring of records per speaker, speaker cap, retention', () => {
  const m = new ChannelMood({ maxSpeakers: 2, maxRecords: 3, retainMs: 10_000 });
  for (let i = 0; i < 5; i++) assert.ok(m.add('a', 'A', record(1000 + i), 1000));
  assert.equal(m.speaker('a')!.records.length, 3, 'ring keeps the newest 3');
  assert.deepEqual(
    m.speaker('a')!.records.map((r) => r.at),
    [1002, 1003, 1004],
  );
  assert.equal(m.speaker('a')!.totalUtterances, 5, 'totals count everything');
  assert.equal(m.speaker('a')!.totalTalkS, 10);
  assert.ok(m.add('b', 'B', record(2000), 2000));
  assert.equal(m.add('c', 'C', record(3000), 3000), false, 'third speaker refused');
  assert.equal(m.has('c'), false);
  // Once A and B have nothing within the retention period, room is made.
  assert.ok(m.add('c', 'C', record(20_000), 20_000));
  assert.deepEqual(
    m.speakers().map((s) => s.userId),
    ['c'],
  );
  assert.deepEqual(
    m.window(0, 30_000).map((s) => s.userId),
    ['c'],
  );
  assert.ok(m.remove('c'));
  assert.equal(m.size, 0);
});

function countingEngine(): EmotionEngine & { calls: number } {
  const e = {
    calls: 0,
    model: { id: 'fake' } as EmotionEngine['model'],
    load: () => ({ inFlight: 0, queued: 0, capacity: 8 }),
    close: async () => undefined,
    async analyze(samples: Float32Array): Promise<EmotionResult> {
      e.calls++;
      return { ...topEmotion(scores), scores, logits: [], embedding: new Float32Array(1), durationS: samples.length / 16000, model: 'fake' };
    },
  };
  return e;
}

/** 1.5 s of a loud tone then 1 s of silence, as 20 ms packets. */
function burst(): Uint8Array[] {
  const s = new Float32Array(48000 * 2.5);
  for (let i = 0; i < 48000 * 1.5; i++) s[i] = 0.3 * Math.sin((2 * Math.PI * 300 * i) / 48000);
  return encodeOpusPackets(s);
}

test('VoiceSession: the speaker cap is announced once per member and bounds subscriptions; forgetSpeaker ends a stream and its state', async () => {
  const receiver = new FakeVoiceReceiver();
  const capped: string[] = [];
  const session = new VoiceSession({
    guildId: 'g',
    channelId: 'v',
    engine: countingEngine(),
    mayAnalyse: async () => true,
    displayName: (id) => id,
    clock: () => 1_000_000,
    logger: createLogger({ level: 'silent' }),
    limits: { maxSpeakers: 2 },
    onSpeakerCapped: (id) => capped.push(id),
  });
  session.attach(receiver);
  try {
    for (const id of ['u1', 'u2', 'u3']) receiver.startSpeaking(id);
    await Promise.all([receiver.subscribed('u1'), receiver.subscribed('u2')]);
    await new Promise((r) => setImmediate(r));
    receiver.startSpeaking('u3'); // again: announced only once
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(capped, ['u3']);
    assert.deepEqual(receiver.subscribeCalls, ['u1', 'u2']);

    for (const p of burst()) {
      receiver.packet('u1', p);
      receiver.packet('u2', p);
    }
    const s1 = receiver.subscriptions.get('u1')!;
    const closed = new Promise((r) => s1.once('close', r));
    receiver.end('u1');
    await closed;
    // u2 is still streaming; forgetting them ends the stream and drops what the session knew.
    await new Promise((r) => setImmediate(r));
    await session.idle();
    assert.equal(session.mood.speaker('u1')?.totalUtterances, 1);
    session.forgetSpeaker('u2');
    await session.idle();
    assert.equal(session.mood.has('u2'), false);
    assert.deepEqual(session.activeSpeakers(), []);
  } finally {
    await session.stop();
  }
});

test('VoiceSession: a member who opts out while their utterance is analysed leaves nothing behind', async () => {
  const receiver = new FakeVoiceReceiver();
  let allowed = true;
  const results: string[] = [];
  const engine = countingEngine();
  const session = new VoiceSession({
    guildId: 'g',
    channelId: 'v',
    engine,
    mayAnalyse: async () => allowed,
    displayName: (id) => id,
    clock: () => 1_000_000,
    logger: createLogger({ level: 'silent' }),
    onResult: (s) => void results.push(s.userId),
  });
  session.attach(receiver);
  try {
    receiver.startSpeaking('u1');
    const s = await receiver.subscribed('u1');
    for (const p of burst()) receiver.packet('u1', p);
    allowed = false; // /privacy out arrives before the engine answers
    const closed = new Promise((r) => s.once('close', r));
    receiver.end('u1');
    await closed;
    await session.idle();
    assert.equal(engine.calls, 1, 'the utterance reached the engine');
    assert.deepEqual(results, []);
    assert.equal(session.mood.has('u1'), false);
  } finally {
    await session.stop();
  }
});

test('VoiceSession: a member who says /forget while their utterance is analysed leaves nothing behind, even where everyone is analysed', async () => {
  const receiver = new FakeVoiceReceiver();
  let epoch = 0;
  const results: string[] = [];
  const counting = countingEngine();
  // The engine holds the first utterance until the test has moved the epoch (the /forget).
  let entered!: () => void;
  const inEngine = new Promise<void>((r) => (entered = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const engine: EmotionEngine = {
    ...counting,
    async analyze(samples, opts) {
      entered();
      await gate;
      return counting.analyze(samples, opts);
    },
  };
  const session = new VoiceSession({
    guildId: 'g',
    channelId: 'v',
    engine,
    mayAnalyse: async () => true, // a server in consent mode opt_out: /forget does not stop listening
    forgetEpoch: () => epoch,
    displayName: (id) => id,
    clock: () => 1_000_000,
    logger: createLogger({ level: 'silent' }),
    onResult: (s) => void results.push(s.userId),
  });
  session.attach(receiver);
  const speak = async () => {
    receiver.startSpeaking('u1');
    const s = await receiver.subscribed('u1');
    for (const p of burst()) receiver.packet('u1', p);
    const closed = new Promise((r) => s.once('close', r));
    receiver.end('u1');
    await closed;
  };
  try {
    await speak();
    await inEngine;
    epoch++; // /forget arrives while the engine works
    release();
    await session.idle();
    assert.equal(counting.calls, 1, 'the utterance reached the engine');
    assert.deepEqual(results, [], 'nothing passed on to be stored');
    assert.equal(session.mood.has('u1'), false);
    // The next utterance, after the /forget, is analysed as usual.
    await speak();
    await session.idle();
    assert.deepEqual(results, ['u1']);
  } finally {
    await session.stop();
  }
});
