/**
 * An Ogg/Opus file whose last granule position claims a short note while its pages carry hours
 * of packets: the container's duration is what we decode (the packets past it are padding), so
 * the decode stops there instead of decoding everything and throwing it away. Without that, one
 * 19 MB upload held a decode worker (of the pool shared by every platform) until the deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeInThread } from '../../src/audio/decodeInThread.ts';
import { OpusEncoder } from '../../src/audio/opus.ts';
import { VoicemoodError } from '../../src/domain/errors.ts';

const SERIAL = 0x5eed;
const PRE_SKIP = 312;

function page(packets: Uint8Array[], granule: bigint, seq: number, flags: number): Uint8Array {
  const lacing: number[] = [];
  for (const p of packets) {
    let n = p.length;
    for (; n >= 255; n -= 255) lacing.push(255);
    lacing.push(n);
  }
  const size = packets.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(27 + lacing.length + size);
  const view = new DataView(out.buffer);
  out.set([0x4f, 0x67, 0x67, 0x53, 0, flags]);
  view.setBigInt64(6, granule, true);
  view.setUint32(14, SERIAL, true);
  view.setUint32(18, seq, true);
  out[26] = lacing.length;
  out.set(lacing, 27);
  let at = 27 + lacing.length;
  for (const p of packets) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Mono Ogg/Opus with these packets, every page claiming the stream ends at `claimedS`. */
function oggOf(packets: Uint8Array[], claimedS: number): Uint8Array {
  const head = new Uint8Array(19);
  head.set(new TextEncoder().encode('OpusHead'));
  head[8] = 1;
  head[9] = 1;
  new DataView(head.buffer).setUint16(10, PRE_SKIP, true);
  new DataView(head.buffer).setUint32(12, 48_000, true);
  const tags = new Uint8Array(16);
  tags.set(new TextEncoder().encode('OpusTags'));
  const end = BigInt(PRE_SKIP + Math.round(claimedS * 48_000));
  const pages = [page([head], 0n, 0, 2), page([tags], 0n, 1, 0)];
  for (let i = 0, seq = 2; i < packets.length; i += 50, seq++) pages.push(page(packets.slice(i, i + 50), end, seq, 0));
  const out = new Uint8Array(pages.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pages) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `count` copies of one low-bitrate 20 ms packet. */
function packets(count: number): Uint8Array[] {
  const encoder = new OpusEncoder(1, { voip: true, bitrate: 6000 });
  const pcm = new Int16Array(960).map((_, i) => Math.round(8000 * Math.sin(i / 7)));
  const packet = encoder.encode(pcm);
  encoder.destroy();
  return new Array<Uint8Array>(count).fill(packet);
}

test('Ogg/Opus: packets past the last granule position are not decoded (a short claim cannot hold a decode worker)', async () => {
  // ~6 hours of 20 ms packets under 20 MB, claiming 1 s: decoding them all takes far longer than the deadline.
  const bytes = oggOf(packets(1_000_000), 1);
  assert.ok(bytes.length < 20 * 1024 * 1024, `${bytes.length} bytes`);
  const audio = await decodeInThread(bytes, { limits: { timeoutMs: 5_000 } });
  assert.equal(audio.format, 'ogg/opus');
  assert.ok(Math.abs(audio.durationS - 1) < 0.01, `decoded ${audio.durationS} s`);
});

test("Ogg/Opus: a damaged packet is explained in our words; the decoder's own message goes to the details (logs)", async () => {
  const bytes = oggOf([...packets(10), new Uint8Array(5000).fill(0x7c), ...packets(10)], 1);
  await assert.rejects(decodeInThread(bytes), (e: unknown) => {
    assert.ok(e instanceof VoicemoodError && e.code === 'undecodable', String(e));
    assert.match(e.message, /an Opus packet in it is damaged/);
    assert.doesNotMatch(e.message, /Opus packet of|decode error|\(/, e.message);
    assert.match(String(e.details.cause), /Opus packet of 5000 bytes/);
    return true;
  });
});
