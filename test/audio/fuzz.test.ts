/**
 * Fuzz (issue 7): fixed seeds, 10 000 cases each. Whatever the bytes, decoding ends in a valid
 * result or a VoicemoodError — never a crash, never a hang. ffmpeg is pointed at a binary that
 * does not exist, so that inputs which would go to ffmpeg fail fast with a typed error too.
 */
process.env.VOICEMOOD_FFMPEG = '/nonexistent/voicemood-fuzz-ffmpeg';

import { test } from 'node:test';
import { withoutStackTraces } from '../helpers/fuzz.ts';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeAudio } from '../../src/audio/decode.ts';
import type { DecodedAudio } from '../../src/audio/types.ts';
import { isVoicemoodError } from '../../src/domain/errors.ts';
import { decodeNpy, encodeNpy } from '../../src/util/npy.ts';
import { fixture, makeWav, tone } from './helpers.ts';

const RUNS = 10_000;

withoutStackTraces();
const HANG_MS = 5000;

/** Decodes and checks the outcome; returns 'ok' or the error code. */
async function decodeChecked(bytes: Uint8Array): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`decoding did not finish within ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    const d: DecodedAudio = await Promise.race([decodeAudio(bytes, { limits: { maxDecodeS: 600 } }), hang]);
    assert.equal(d.sampleRate, 16000);
    assert.equal(d.samples.length, Math.round(d.durationS * 16000));
    for (let i = 0; i < d.samples.length; i++) {
      const v = d.samples[i];
      if (!(v >= -1 && v <= 1)) throw new Error(`sample ${i} is ${v}`);
    }
    return 'ok';
  } catch (e) {
    if (isVoicemoodError(e)) {
      assert.ok(e.message.length > 10 && !e.message.includes('undefined'), e.message);
      return e.code;
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

type Mutation = { kind: 'flip' | 'set' | 'cut' | 'insert' | 'delete'; pos: number; value: number; len: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('flip', 'set', 'set', 'cut', 'insert', 'delete'),
  pos: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
  len: fc.integer({ min: 1, max: 64 }),
});

/** Mutations land mostly in the first bytes, where the headers are. */
function mutate(base: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = base.slice();
  for (const m of mutations) {
    const span = m.pos % 3 === 0 ? b.length : Math.min(b.length, 96);
    const at = span === 0 ? 0 : m.pos % span;
    switch (m.kind) {
      case 'flip':
        if (b.length) b[at] ^= 1 << (m.value & 7);
        break;
      case 'set':
        if (b.length) b[at] = m.value;
        break;
      case 'cut':
        b = b.slice(0, at);
        break;
      case 'insert': {
        // Typed-array copies, not spreads: spreading ~1.6 KB per case cost about 5 % of the run.
        const grown = new Uint8Array(b.length + m.len);
        grown.set(b.subarray(0, at));
        grown.fill(m.value, at, at + m.len);
        grown.set(b.subarray(at), at + m.len);
        b = grown;
        break;
      }
      case 'delete': {
        const cut = Math.min(m.len, b.length - at);
        const shrunk = new Uint8Array(b.length - cut);
        shrunk.set(b.subarray(0, at));
        shrunk.set(b.subarray(at + cut), at);
        b = shrunk;
        break;
      }
    }
  }
  return b;
}

function tally(outcomes: Map<string, number>, key: string): void {
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}

test(`WAV parser: ${RUNS} mutated and synthesised WAV files`, async () => {
  const bases = [
    makeWav([tone(440, 16000, 0.05)], 16000, 's16'),
    makeWav([tone(440, 44100, 0.02), tone(880, 44100, 0.02)], 44100, 'f32', { extensible: true }),
    makeWav([tone(440, 8000, 0.05)], 8000, 'u8', { extraChunks: [{ id: 'LIST', body: new Uint8Array(7) }] }),
    makeWav([tone(440, 22050, 0.03)], 22050, 's24'),
  ];
  const header = fc.record({
    tag: fc.constantFrom(1, 3, 0xfffe, 2, 0, 0xffff),
    channels: fc.integer({ min: 0, max: 70 }),
    rate: fc.oneof(fc.constantFrom(8000, 16000, 44100, 48000, 192000, 0, 1, 0xffffffff), fc.nat()),
    blockAlign: fc.integer({ min: 0, max: 0xffff }),
    bits: fc.integer({ min: 0, max: 0xffff }),
    fmtSize: fc.constantFrom(16, 18, 40, 14, 0, 0xffffffff),
    dataSize: fc.oneof(fc.constantFrom(0, 0xffffffff, 16000 * 2 * 3600), fc.nat()),
    body: fc.uint8Array({ maxLength: 512 }),
  });
  const synthesised = header.map((h) => {
    const fmt = new Uint8Array(40);
    const v = new DataView(fmt.buffer);
    v.setUint16(0, h.tag, true);
    v.setUint16(2, h.channels, true);
    v.setUint32(4, h.rate >>> 0, true);
    v.setUint16(12, h.blockAlign, true);
    v.setUint16(14, h.bits, true);
    v.setUint16(24, h.tag === 0xfffe ? 1 : 0, true);
    const fmtLen = h.fmtSize === 0xffffffff ? 40 : Math.min(40, h.fmtSize);
    const out = new Uint8Array(12 + 8 + fmtLen + 8 + h.body.length);
    const o = new DataView(out.buffer);
    out.set(Buffer.from('RIFF'), 0);
    o.setUint32(4, out.length - 8, true);
    out.set(Buffer.from('WAVEfmt '), 8);
    o.setUint32(16, h.fmtSize >>> 0, true);
    out.set(fmt.subarray(0, fmtLen), 20);
    out.set(Buffer.from('data'), 20 + fmtLen);
    o.setUint32(24 + fmtLen, h.dataSize >>> 0, true);
    out.set(h.body, 28 + fmtLen);
    return out;
  });
  const mutated = fc.tuple(fc.nat(bases.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([i, ms]) => mutate(bases[i], ms));
  const outcomes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.oneof(mutated, synthesised), async (bytes) => tally(outcomes, await decodeChecked(bytes))),
    { seed: 20261125, numRuns: RUNS },
  );
  console.log(`# WAV fuzz outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  assert.ok((outcomes.get('ok') ?? 0) > 100, 'a fair share of cases still decode');
  assert.ok((outcomes.get('undecodable') ?? 0) > 100, 'a fair share of cases are refused');
});

test(`OGG/Opus path: ${RUNS} mutations of a real voice note`, async () => {
  const base = fixture('voice_tiny_0.2s.ogg');
  assert.equal(await decodeChecked(base), 'ok');
  const outcomes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => tally(outcomes, await decodeChecked(mutate(base, ms)))),
    { seed: 7, numRuns: RUNS },
  );
  console.log(`# OGG/Opus fuzz outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  assert.ok((outcomes.get('ok') ?? 0) > 100);
  assert.ok((outcomes.get('undecodable') ?? 0) > 100);
});

test(`npy writer: ${RUNS} random shapes and values round-trip with a valid header`, () => {
  const arb = fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 4 }).chain((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fc.tuple(fc.constant(shape), fc.float32Array({ minLength: n, maxLength: n }));
  });
  fc.assert(
    fc.property(arb, ([shape, data]) => {
      const bytes = encodeNpy(data, shape);
      const headerLen = bytes[8] | (bytes[9] << 8);
      assert.equal((10 + headerLen) % 64, 0);
      assert.equal(bytes[10 + headerLen - 1], 0x0a);
      const text = Buffer.from(bytes.subarray(10, 10 + headerLen)).toString('latin1');
      const literal = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
      assert.equal(text.trimEnd(), `{'descr': '<f4', 'fortran_order': False, 'shape': ${literal}, }`);
      const back = decodeNpy(bytes);
      assert.deepEqual(back.shape, shape);
      assert.deepEqual(new Uint8Array(back.data.buffer), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }),
    { seed: 42, numRuns: RUNS },
  );
});

test(`npy writer and reader: ${RUNS} arbitrary shapes, data and damaged files end in a valid result or a VoicemoodError`, () => {
  const dim = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 6 }) },
    { weight: 1, arbitrary: fc.constantFrom(-1, 0.5, Number.NaN, Infinity, 2 ** 53, -0) },
  );
  // Mostly data that fits the shape (when the shape is valid), sometimes any length.
  const shaped = fc.array(dim, { maxLength: 5 }).chain((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const fits = Number.isSafeInteger(n) && n >= 0 && n <= 400 ? fc.float32Array({ minLength: n, maxLength: n }) : fc.float32Array({ maxLength: 40 });
    return fc.record({
      shape: fc.constant(shape),
      data: fc.oneof({ weight: 3, arbitrary: fits }, { weight: 1, arbitrary: fc.float32Array({ maxLength: 40 }) }),
    });
  });
  const input = fc.record({
    shaped,
    changes: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
    cut: fc.option(fc.nat()),
  });
  const outcomes = new Map<string, number>();
  const validDecoded = (d: { shape: number[]; data: Float32Array }): void => {
    assert.ok(
      d.shape.every((n) => Number.isSafeInteger(n) && n >= 0),
      `decoded shape ${d.shape}`,
    );
    assert.equal(
      d.data.length,
      d.shape.reduce((a, b) => a * b, 1),
    );
  };
  fc.assert(
    fc.property(input, ({ shaped: { shape, data }, changes, cut }) => {
      let bytes: Uint8Array;
      try {
        bytes = encodeNpy(data, shape);
      } catch (e) {
        if (!isVoicemoodError(e, 'bad_input')) throw e;
        tally(outcomes, 'write refused');
        // A refused write is only right when the input really is invalid.
        const valid = shape.every((n) => Number.isSafeInteger(n) && n >= 0) && shape.reduce((a, b) => a * b, 1) === data.length;
        assert.ok(!valid, `a valid shape ${shape} for ${data.length} values was refused`);
        return;
      }
      validDecoded(decodeNpy(bytes));
      // Then damage the file: the reader answers a valid array or a typed error.
      const damaged = bytes.slice(0, cut === null ? bytes.length : cut % (bytes.length + 1));
      for (const c of changes) if (damaged.length) damaged[c.at % damaged.length] = c.value;
      try {
        validDecoded(decodeNpy(damaged));
        tally(outcomes, 'read');
      } catch (e) {
        if (!isVoicemoodError(e)) throw e;
        tally(outcomes, 'read refused');
      }
    }),
    { seed: 4242, numRuns: RUNS },
  );
  console.log(`# npy fuzz outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  assert.ok((outcomes.get('write refused') ?? 0) > 100 && (outcomes.get('read refused') ?? 0) > 100 && (outcomes.get('read') ?? 0) > 100);
});
