import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpusDecoder, OpusEncoder, encodeOpusPackets } from '../../../src/bots/discord/voice/opus.ts';
import { PacketResampler, downmixInt16 } from '../../../src/bots/discord/voice/downmix.ts';

function sine(hz: number, seconds: number, rate = 48000, amp = 0.3): Float32Array {
  const out = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}

/** Best normalised cross-correlation over lags 0..maxLag. */
function bestCorrelation(ref: Float32Array, got: Float32Array, from: number, to: number, maxLag: number): number {
  let best = -1;
  for (let lag = 0; lag <= maxLag; lag++) {
    let c = 0,
      e1 = 0,
      e2 = 0;
    for (let i = from; i < to; i++) {
      c += ref[i] * got[i + lag];
      e1 += ref[i] * ref[i];
      e2 += got[i + lag] * got[i + lag];
    }
    best = Math.max(best, c / Math.sqrt(e1 * e2));
  }
  return best;
}

test('Opus round trip keeps the signal, with 40 decoders alive at once (the opusscript wrapper breaks past ~18)', () => {
  const ref = sine(440, 1);
  const packets = encodeOpusPackets(ref);
  assert.equal(packets.length, 50);
  const decoders = Array.from({ length: 40 }, () => new OpusDecoder(2));
  try {
    const outs: Int16Array[][] = decoders.map(() => []);
    for (const p of packets) decoders.forEach((d, k) => outs[k].push(d.decode(p)));
    for (const k of [0, 19, 39]) {
      const pcm = outs[k];
      assert.ok(
        pcm.every((f) => f.length === 960 * 2),
        '20 ms stereo frames',
      );
      const mono = new Float32Array(50 * 960);
      pcm.forEach((f, j) => mono.set(downmixInt16(f, 2), j * 960));
      const r = bestCorrelation(ref, mono, 5000, 15000, 600);
      assert.ok(r > 0.98, `decoder ${k}: correlation ${r}`);
    }
  } finally {
    for (const d of decoders) d.destroy();
  }
});

test('a corrupt packet throws (the pipeline turns that into a gap); decoding after it still works', () => {
  const d = new OpusDecoder(2);
  try {
    assert.throws(() => d.decode(new Uint8Array([1, 2, 3, 250, 251, 252, 253, 254, 255, 0, 0, 0])), /Opus decode error/);
    assert.throws(() => d.decode(new Uint8Array(0)));
    // Discord's silence frame decodes to 20 ms.
    assert.equal(d.decode(new Uint8Array([0xf8, 0xff, 0xfe])).length, 1920);
  } finally {
    d.destroy();
  }
  assert.throws(() => d.decode(new Uint8Array([0xf8, 0xff, 0xfe])), /after destroy/);
});

test('encoder refuses frames of the wrong size', () => {
  const e = new OpusEncoder(2);
  try {
    assert.throws(() => e.encode(new Int16Array(961)), RangeError);
  } finally {
    e.destroy();
  }
});

test('the packet resampler turns 48 kHz stereo into 16 kHz mono, continuously across packets', async () => {
  const r = await PacketResampler.open();
  try {
    const tone = sine(1000, 1);
    const out: Float32Array[] = [];
    for (let at = 0; at < tone.length; at += 960) {
      const pcm = new Int16Array(1920);
      for (let i = 0; i < 960; i++) pcm[2 * i] = pcm[2 * i + 1] = Math.round(tone[at + i] * 32767);
      out.push(r.push(pcm, 2));
    }
    const joined = new Float32Array(out.reduce((n, x) => n + x.length, 0));
    let k = 0;
    for (const x of out) {
      joined.set(x, k);
      k += x.length;
    }
    assert.ok(Math.abs(joined.length - 16000) <= 200, `length ${joined.length}`);
    // A 1 kHz tone at 16 kHz: no clicks at packet boundaries means it correlates with a clean one.
    const clean = sine(1000, 1, 16000);
    assert.ok(bestCorrelation(clean, joined, 2000, 14000, 200) > 0.99);
  } finally {
    r.destroy();
  }
});
