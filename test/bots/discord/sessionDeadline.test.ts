/**
 * Issue 7: an utterance heard in a voice channel has a deadline too. A hung engine must not keep
 * idle() — which /mood and shutdown wait for — waiting for ever: the utterance counts as failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOpusPackets } from '../../../src/bots/discord/voice/opus.ts';
import { VoiceSession } from '../../../src/bots/discord/voice/session.ts';
import type { EmotionEngine, EmotionResult } from '../../../src/inference/types.ts';
import { createLogger } from '../../../src/util/log.ts';
import { FakeVoiceReceiver } from '../../fakes/discord/voiceReceiver.ts';

function hungEngine(): EmotionEngine & { calls: number; aborted: number } {
  const e = {
    calls: 0,
    aborted: 0,
    model: { id: 'hung' } as EmotionEngine['model'],
    load: () => ({ inFlight: 0, queued: 0, capacity: 8 }),
    close: async () => undefined,
    analyze(_samples: Float32Array, opts: { signal?: AbortSignal } = {}): Promise<EmotionResult> {
      e.calls++;
      opts.signal?.addEventListener('abort', () => e.aborted++);
      return new Promise<EmotionResult>(() => undefined); // never answers, ignores the abort
    },
  };
  return e;
}

test('VoiceSession: a hung engine ends each utterance at the deadline; idle() and stop() return', async () => {
  const receiver = new FakeVoiceReceiver();
  const engine = hungEngine();
  const results: string[] = [];
  const counted: string[][] = [];
  const session = new VoiceSession({
    metrics: { analysis: (platform, outcome) => void counted.push([platform, outcome]) },
    guildId: 'g',
    channelId: 'v',
    engine,
    mayAnalyse: async () => true,
    displayName: (id) => id,
    clock: () => 1_000_000,
    logger: createLogger({ level: 'silent' }),
    analysisTimeoutMs: 200,
    onResult: (s) => void results.push(s.userId),
  });
  session.attach(receiver);
  // 1.5 s of a loud tone then 1 s of silence: one utterance.
  const s = new Float32Array(48000 * 2.5);
  for (let i = 0; i < 48000 * 1.5; i++) s[i] = 0.3 * Math.sin((2 * Math.PI * 300 * i) / 48000);
  receiver.startSpeaking('u1');
  const stream = await receiver.subscribed('u1');
  for (const p of encodeOpusPackets(s)) receiver.packet('u1', p);
  const closed = new Promise((r) => stream.once('close', r));
  receiver.end('u1');
  await closed;
  await session.idle(); // would never return without the deadline
  assert.equal(engine.calls, 1, 'the utterance reached the engine');
  assert.equal(engine.aborted, 1, 'the engine was told to drop it');
  assert.equal(session.stats.failed, 1);
  assert.deepEqual(results, []);
  assert.deepEqual(counted, [['voice_channel', 'timeout']], 'counted for /metrics as a voice-channel timeout');
  await session.stop();
});
