import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeInThread } from '../../src/audio/decode.ts';
import type { DecodedAudio } from '../../src/audio/types.ts';
import { scanOggPages, oggPackets } from '../../src/audio/oggOpus.ts';

const FIX = new URL('../fixtures/', import.meta.url);
const notes = ['audio/voice_telegram.ogg', 'telegram/voice-hello.ogg', 'telegram/voice-angry.ogg', 'discord/voice-message.ogg'].map((name) => ({
  name,
  bytes: new Uint8Array(readFileSync(new URL(name, FIX))),
}));

test('64 parallel in-thread decodes of the fixture voice notes all succeed and equal a solo decode (one libopus heap)', async () => {
  const solo: DecodedAudio[] = [];
  for (const n of notes) solo.push(await decodeInThread(n.bytes));
  // All in one thread, interleaved: the old prism/opusscript wrapper failed here ("memory access out of bounds").
  const results = await Promise.allSettled(Array.from({ length: 64 }, (_, i) => decodeInThread(notes[i % notes.length].bytes)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${notes[i % notes.length].name}: ${String(r.reason)}`] : []));
  assert.deepEqual(failed, []);
  results.forEach((r, i) => {
    assert.equal(r.status, 'fulfilled');
    const want = solo[i % notes.length];
    assert.equal(r.value.samples.length, want.samples.length, notes[i % notes.length].name);
    assert.deepEqual(r.value.samples, want.samples, notes[i % notes.length].name);
  });
});

test('the Ogg page walker yields OpusHead, OpusTags, then one packet per 20 ms frame up to the last granule', () => {
  const bytes = notes[0].bytes;
  const packets = [...oggPackets(bytes)];
  assert.equal(new TextDecoder().decode(packets[0].subarray(0, 8)), 'OpusHead');
  assert.equal(new TextDecoder().decode(packets[1].subarray(0, 8)), 'OpusTags');
  const { lastGranule } = scanOggPages(bytes);
  // Telegram voice notes are 20 ms frames: packets cover the granule span, at most one frame over.
  const frames = (packets.length - 2) * 960;
  assert.ok(frames >= lastGranule! - 960 && frames <= lastGranule! + 960, `${frames} vs ${lastGranule}`);
});
