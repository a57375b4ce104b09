import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VoiceSession } from '../../../src/bots/discord/voice/session.ts';
import { OpusDecoder, type OpusPacketDecoder } from '../../../src/bots/discord/voice/opus.ts';
import { createLogger } from '../../../src/util/log.ts';
import { FakeVoiceReceiver } from '../../fakes/discord/voiceReceiver.ts';
import { loadSpeech, silencePackets, tinyEngine } from './voiceHarness.ts';

const A = '200000000000000001';
const B = '200000000000000002';
const C = '200000000000000003'; // opted out
const T0 = Date.UTC(2026, 10, 25, 22, 0, 0);

test('two speakers interleaved with silences: utterances, boundaries and per-speaker summary; an opted-out speaker leaves no trace', async () => {
  const engine = await tinyEngine();
  const [a, b] = await Promise.all([loadSpeech('speaker-a.wav'), loadSpeech('speaker-b.wav')]);
  const receiver = new FakeVoiceReceiver();
  const decoders: string[] = [];
  const consentAsked: string[] = [];
  const results: { userId: string; at: number; durationS: number }[] = [];
  const counted: string[] = [];
  const session = new VoiceSession({
    guildId: 'g1',
    channelId: 'v1',
    engine,
    metrics: { analysis: (platform, outcome) => void counted.push(`${platform}:${outcome}`) },
    mayAnalyse: async (userId) => {
      consentAsked.push(userId);
      return userId !== C;
    },
    displayName: (id) => ({ [A]: 'Alice', [B]: 'Bob', [C]: 'Carol' })[id] ?? id,
    clock: () => T0,
    logger: createLogger({ level: 'silent' }),
    createDecoder: (userId): OpusPacketDecoder => {
      decoders.push(userId);
      return new OpusDecoder(2);
    },
    onResult: (speaker, record) => void results.push({ userId: speaker.userId, at: record.at, durationS: record.durationS }),
  });
  try {
    session.attach(receiver);
    for (const id of [A, B, C]) receiver.startSpeaking(id);
    const [sa, sb] = await Promise.all([receiver.subscribed(A), receiver.subscribed(B)]);
    // Let C's consent lookup finish too (it resolves in the same tick as the others).
    await new Promise((r) => setImmediate(r));

    // A: speech 0 s, silence 3 s, speech again, 1 s silence. B: 1.5 s silence, speech, 2 s silence, speech, 1 s.
    const trackA = [...a.packets, ...silencePackets(3), ...a.packets, ...silencePackets(1)];
    const trackB = [...silencePackets(1.5), ...b.packets, ...silencePackets(2), ...b.packets, ...silencePackets(1)];
    const trackC = [...b.packets, ...a.packets];
    let droppedForC = 0;
    for (let i = 0; i < Math.max(trackA.length, trackB.length, trackC.length); i++) {
      if (trackA[i]) receiver.packet(A, trackA[i]);
      if (trackB[i]) receiver.packet(B, trackB[i]);
      if (trackC[i] && !receiver.packet(C, trackC[i])) droppedForC++;
    }
    const closed = Promise.all([sa, sb].map((s) => new Promise((r) => s.once('close', r))));
    receiver.end(A);
    receiver.end(B);
    await closed;
    await session.idle();

    // Utterances: two per speaker, where the speech was.
    const byUser = (id: string) => results.filter((r) => r.userId === id).sort((x, y) => x.at - y.at);
    const ua = byUser(A);
    const ub = byUser(B);
    assert.equal(ua.length, 2, `A utterances: ${JSON.stringify(ua)}`);
    assert.equal(ub.length, 2, `B utterances: ${JSON.stringify(ub)}`);
    const near = (got: number, want: number, tol: number, what: string) =>
      assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got.toFixed(3)}, want ${want.toFixed(3)} ± ${tol}`);
    near((ua[0].at - T0) / 1000, 0, 0.25, 'A #1 start');
    near((ua[1].at - T0) / 1000, a.durationS + 3, 0.25, 'A #2 start');
    near((ub[0].at - T0) / 1000, 1.5, 0.25, 'B #1 start');
    near((ub[1].at - T0) / 1000, 1.5 + b.durationS + 2, 0.25, 'B #2 start');
    for (const u of ua) near(u.durationS, a.durationS, 0.35, 'A duration');
    for (const u of ub) near(u.durationS, b.durationS, 0.35, 'B duration');

    // Per-speaker state: talk time and counts.
    const logA = session.mood.speaker(A)!;
    const logB = session.mood.speaker(B)!;
    assert.equal(logA.totalUtterances, 2);
    assert.equal(logB.totalUtterances, 2);
    near(logA.totalTalkS, 2 * a.durationS, 0.6, 'A talk time');
    near(logB.totalTalkS, 2 * b.durationS, 0.6, 'B talk time');
    assert.equal(logA.name, 'Alice');
    assert.equal(session.stats.decodeFailures, 0);
    assert.equal(session.stats.analysed, 4);
    assert.deepEqual(counted, Array(4).fill('voice_channel:ok'), 'each utterance counted for /metrics');

    // C: asked, refused, never subscribed, never decoded, no state.
    assert.ok(consentAsked.includes(C));
    assert.deepEqual(receiver.subscribeCalls.sort(), [A, B].sort());
    assert.deepEqual(decoders.sort(), [A, B].sort());
    assert.equal(droppedForC, trackC.length);
    assert.equal(session.mood.has(C), false);
    assert.equal(
      results.some((r) => r.userId === C),
      false,
    );
  } finally {
    await session.stop();
    await engine.close();
  }
});

test('corrupt packets are gaps, not the end of the stream; the speaker is resubscribed after a stream ends', async () => {
  const engine = await tinyEngine();
  const a = await loadSpeech('speaker-a.wav');
  const receiver = new FakeVoiceReceiver();
  const session = new VoiceSession({
    guildId: 'g1',
    channelId: 'v1',
    engine,
    mayAnalyse: async () => true,
    displayName: () => 'Alice',
    clock: () => T0,
    logger: createLogger({ level: 'silent' }),
  });
  try {
    session.attach(receiver);
    for (let round = 0; round < 2; round++) {
      receiver.startSpeaking(A);
      const s = await receiver.subscribed(A);
      const packets = [...a.packets, ...silencePackets(1)];
      // Three garbage packets in the middle of the speech (a failed decrypt that reached us).
      packets.splice(40, 3, new Uint8Array([1, 2, 3, 250, 251, 252, 253, 254, 255, 0, 0, 0]), new Uint8Array([0xff]), new Uint8Array([7, 7]));
      for (const p of packets) receiver.packet(A, p);
      const closed = new Promise((r) => s.once('close', r));
      receiver.end(A);
      await closed;
      await session.idle();
    }
    assert.equal(receiver.subscribeCalls.length, 2);
    assert.ok(session.stats.decodeFailures >= 4, `decode failures ${session.stats.decodeFailures}`);
    assert.equal(session.mood.speaker(A)?.totalUtterances, 2);
  } finally {
    await session.stop();
    await engine.close();
  }
});
