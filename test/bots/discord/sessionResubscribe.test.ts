/**
 * VoiceSession on the stand-in receiver: a receive stream destroyed by an error is subscribed again
 * at once when onStreamError says so (the speaker may talk on without a pause, so no new
 * 'speaking start' would come); members present at attach are admitted without a packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VoiceSession } from '../../../src/bots/discord/voice/session.ts';
import type { EmotionEngine } from '../../../src/inference/types.ts';
import { createLogger } from '../../../src/util/log.ts';
import { FakeVoiceReceiver } from '../../fakes/discord/voiceReceiver.ts';

const engine = {
  model: { id: 'fake' },
  load: () => ({ inFlight: 0, queued: 0, capacity: 8 }),
  close: async () => undefined,
  analyze: async () => {
    throw new Error('not used');
  },
} as unknown as EmotionEngine;

function session(onStreamError: (userId: string, e: unknown) => boolean): VoiceSession {
  return new VoiceSession({
    guildId: 'g',
    channelId: 'v',
    engine,
    mayAnalyse: async () => true,
    displayName: (id) => id,
    clock: () => 0,
    logger: createLogger({ level: 'silent' }),
    onStreamError,
  });
}

test('a stream destroyed by a decrypt error is resubscribed at once when onStreamError asks for it', async () => {
  const receiver = new FakeVoiceReceiver();
  const errors: string[] = [];
  const s = session((userId, e) => {
    errors.push(`${userId}: ${(e as Error).message}`);
    return true;
  });
  s.attach(receiver, ['alice']);
  const first = await receiver.subscribed('alice');
  first.destroy(new Error('DecryptionFailed(UnencryptedWhenPassthroughDisabled)'));
  await new Promise((resolve) => first.once('close', resolve));
  const second = await receiver.subscribed('alice');
  assert.notEqual(second, first);
  assert.deepEqual(receiver.subscribeCalls, ['alice', 'alice']);
  assert.deepEqual(errors, ['alice: DecryptionFailed(UnencryptedWhenPassthroughDisabled)']);
  await s.stop();
});
