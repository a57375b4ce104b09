/**
 * A sender transmits nothing while it is silent (after 5 silence frames), so a pause inside one
 * receive stream is missing from the packets; only their arrival times show it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Utterance } from '../../../src/audio/vad.ts';
import { PacketResampler } from '../../../src/bots/discord/voice/downmix.ts';
import { OpusDecoder } from '../../../src/bots/discord/voice/opus.ts';
import { PACKET_MS, SpeakerPipeline } from '../../../src/bots/discord/voice/speakerPipeline.ts';
import { loadSpeech, silencePackets } from './voiceHarness.ts';

async function run(withArrivalTimes: boolean): Promise<Utterance[]> {
  const a = await loadSpeech('speaker-a.wav');
  const out: Utterance[] = [];
  const pipeline = new SpeakerPipeline('u1', { decoder: new OpusDecoder(2), resampler: await PacketResampler.open(), onUtterance: (u) => void out.push(u) });
  pipeline.begin(0);
  // Speech, the 5 silence frames a client sends when it stops, 900 ms of nothing, speech again.
  const first = [...a.packets, ...silencePackets(0.1)];
  let t = 0;
  for (const p of first) pipeline.push(p, withArrivalTimes ? (t += PACKET_MS) : undefined);
  t += 900;
  for (const p of [...a.packets, ...silencePackets(0.1)]) pipeline.push(p, withArrivalTimes ? (t += PACKET_MS) : undefined);
  pipeline.destroy();
  return out;
}

test('a pause the sender did not transmit splits utterances and keeps their times', async () => {
  const timed = await run(true);
  assert.equal(timed.length, 2, 'two utterances');
  const speechS = (await loadSpeech('speaker-a.wav')).durationS;
  // The second starts after the first clip, the 0.1 s of silence frames and (most of) the 0.9 s pause.
  assert.ok(timed[1].startS > speechS + 0.8 && timed[1].startS < speechS + 1.1, `second starts at ${timed[1].startS.toFixed(2)} s`);
});

test('without arrival times the same packets run together (what the receiver alone gives)', async () => {
  const merged = await run(false);
  assert.equal(merged.length, 1, 'one utterance across the pause');
});
