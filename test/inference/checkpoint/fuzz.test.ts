/**
 * Fuzzing (issue 7): random bytes and mutations of the real fixture never crash or hang the zip
 * reader or the unpickler: every case either succeeds or ends in a VoicemoodError.
 * Seeded, so a failure reproduces; fast-check prints the counterexample.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { VoicemoodError } from '../../../src/domain/errors.ts';
import { bufferSource, findStateDict, openZip, readStateDict, unpickle } from '../../../src/inference/checkpoint/index.ts';
import { checkpointArchive, stateDictPickle } from './helpers.ts';

import { test } from 'node:test';
import { withoutStackTraces } from '../../helpers/fuzz.ts';

const SEED = 20261125;

withoutStackTraces();
const RUNS = 10_000;
const FIXTURE = readFileSync(new URL('../../fixtures/emotion2vec-reference/model.pt', import.meta.url));

interface Tally {
  ok: number;
  refused: number;
}

/** A throw ends well only as a VoicemoodError (counted as refused); anything else goes to fast-check. */
function refusedOrRethrow(tally: Tally, e: unknown): true {
  if (e instanceof VoicemoodError) {
    tally.refused++;
    return true;
  }
  throw e; // fast-check reports it with the counterexample
}

/** Runs `fn`: true when it succeeds or throws a VoicemoodError; any other throw propagates. */
function endsWellSync(tally: Tally, fn: () => unknown): boolean {
  try {
    fn();
  } catch (e) {
    return refusedOrRethrow(tally, e);
  }
  tally.ok++;
  return true;
}

async function endsWell(tally: Tally, fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
  } catch (e) {
    return refusedOrRethrow(tally, e);
  }
  tally.ok++;
  return true;
}

/** Opens an archive as the converter would: directory, data.pkl, state dict, and (up to) `tensorReads` tensors. */
async function readCheckpoint(bytes: Uint8Array, tensorReads: number): Promise<void> {
  const zip = await openZip(bufferSource(bytes));
  const tensors = await readStateDict(zip);
  let n = 0;
  for (const t of tensors.values()) if (n++ < tensorReads) await t.read();
}

/**
 * The fixture's data.pkl cut down to its first five tensors (then SETITEMS, an empty BUILD state,
 * STOP): the same instructions as the real file at a tenth of the unpickling cost per case.
 */
function miniFixturePickle(pkl: Buffer): Buffer {
  const key = Buffer.from('modality_encoders.AUDIO.local_encoder.conv_layers.1.0.weight');
  const cut = pkl.indexOf(key) - 5; // BINUNICODE opcode + 4-byte length
  assert.ok(cut > 0 && pkl[cut] === 0x58);
  return Buffer.concat([pkl.subarray(0, cut), Buffer.from('u}b.', 'latin1')]);
}

const mutation = (length: number) =>
  fc.array(
    fc.record({
      at: fc.nat({ max: length - 1 }),
      value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80)),
    }),
    { minLength: 1, maxLength: 4 },
  );

/** Applies byte mutations to `bytes` in place, runs `fn`, and restores the bytes. */
async function mutated<T>(bytes: Buffer, changes: { at: number; value: number }[], fn: () => Promise<T>): Promise<T> {
  const saved = changes.map((c) => bytes[c.at]);
  for (const c of changes) bytes[c.at] = c.value;
  try {
    return await fn();
  } finally {
    for (let i = changes.length - 1; i >= 0; i--) bytes[changes[i].at] = saved[i];
  }
}

function mutatedSync<T>(bytes: Buffer, changes: { at: number; value: number }[], fn: () => T): T {
  const saved = changes.map((c) => bytes[c.at]);
  for (const c of changes) bytes[c.at] = c.value;
  try {
    return fn();
  } finally {
    for (let i = changes.length - 1; i >= 0; i--) bytes[changes[i].at] = saved[i];
  }
}

test('zip reader: random bytes', async (t) => {
  const tally: Tally = { ok: 0, refused: 0 };
  // Random bodies behind a valid-looking end record, so that parsing gets past the first check.
  const eocd = (count: number, size: number, offset: number, comment: number): Buffer => {
    const b = Buffer.alloc(22);
    b.writeUInt32LE(0x06054b50, 0);
    b.writeUInt16LE(count, 8);
    b.writeUInt16LE(count, 10);
    b.writeUInt32LE(size, 12);
    b.writeUInt32LE(offset, 16);
    b.writeUInt16LE(comment, 20);
    return b;
  };
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 600 }),
      fc.boolean(),
      fc.nat({ max: 5 }),
      fc.nat({ max: 700 }),
      fc.nat({ max: 700 }),
      async (body, withEnd, count, size, offset) => {
        const bytes = withEnd ? Buffer.concat([body, eocd(count, size, offset, 0)]) : body;
        return endsWell(tally, () => readCheckpoint(bytes, 10));
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
  t.diagnostic(`random archives: ${tally.ok} read, ${tally.refused} refused`);
  assert.equal(tally.ok + tally.refused, RUNS);
});

test('zip reader and state dict: mutations of the real fixture and of a zip64 checkpoint', async (t) => {
  const tally: Tally = { ok: 0, refused: 0 };
  const fixture = Buffer.from(FIXTURE);
  // Structure lives at the end (central directory, zip64 records) and in the local headers;
  // data.pkl is the first entry. Mutations aim at those regions.
  const tailStart = fixture.length - 8000;
  const small = checkpointArchive(
    stateDictPickle([
      { name: 'a', storageType: 'HalfStorage', key: '0', numel: 6, offset: 0, shape: [2, 3], stride: [1, 2] },
      { name: 'b', storageType: 'FloatStorage', key: '1', numel: 4, offset: 1, shape: [3], stride: [1], parameter: true },
    ]),
    { '0': Buffer.alloc(12, 0x3c), '1': Buffer.alloc(16, 0x40) },
    { zip64: true },
  );
  await fc.assert(
    fc.asyncProperty(
      // The fixture costs ~1 ms per case (101 entries, 26 KB pickle): most cases use the small archive.
      fc.oneof(
        { weight: 1, arbitrary: fc.record({ target: fc.constant('fixture-tail' as const), changes: mutation(8000) }) },
        { weight: 1, arbitrary: fc.record({ target: fc.constant('fixture-head' as const), changes: mutation(27000) }) },
        { weight: 18, arbitrary: fc.record({ target: fc.constant('small' as const), changes: mutation(small.length) }) },
      ),
      async ({ target, changes }) => {
        const bytes = target === 'small' ? small : fixture;
        const shifted = target === 'fixture-tail' ? changes.map((c) => ({ ...c, at: c.at + tailStart })) : changes;
        return mutated(bytes, shifted, () => endsWell(tally, () => readCheckpoint(bytes, 3)));
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
  t.diagnostic(`mutated archives: ${tally.ok} read, ${tally.refused} refused`);
  assert.ok(tally.ok > 0 && tally.refused > 0, 'mutations should both pass and fail');
  assert.deepEqual(fixture, FIXTURE, 'mutations were undone');
});

const OPCODES = [
  0x28, 0x2e, 0x30, 0x31, 0x32, 0x4a, 0x4b, 0x4d, 0x4e, 0x51, 0x52, 0x58, 0x61, 0x62, 0x63, 0x65, 0x68, 0x6a, 0x5d, 0x71, 0x72, 0x73, 0x74, 0x29, 0x75, 0x47,
  0x80, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x8d, 0x93, 0x94, 0x95, 0x7d, 0x69, 0x81,
];

test('unpickler: random opcode streams and bytes', (t) => {
  const tally: Tally = { ok: 0, refused: 0 };
  const names = fc.constantFrom(
    'collections\nOrderedDict\n',
    'torch._utils\n_rebuild_tensor_v2\n',
    'torch\nFloatStorage\n',
    'os\nsystem\n',
    'storage',
    'cpu',
    '0',
  );
  const piece = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...OPCODES).map((op) => Buffer.from([op])) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 9 }).map((b) => Buffer.from(b)) },
    { weight: 2, arbitrary: names.map((s) => Buffer.from(s, 'latin1')) },
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), fc.boolean(), (pieces, protoFirst) => {
      const bytes = Buffer.concat([protoFirst ? Buffer.from([0x80, 2]) : Buffer.alloc(0), ...pieces]);
      return endsWellSync(tally, () => unpickle(bytes));
    }),
    { seed: SEED, numRuns: RUNS },
  );
  t.diagnostic(`random pickles: ${tally.ok} read, ${tally.refused} refused`);
  assert.equal(tally.ok + tally.refused, RUNS);
});

test('unpickler: mutations of the fixture data.pkl', async (t) => {
  const tally: Tally = { ok: 0, refused: 0 };
  const zip = await openZip(bufferSource(FIXTURE));
  const pkl = Buffer.from(await zip.read(zip.entries.get('model/data.pkl')!));
  const mini = miniFixturePickle(pkl);
  assert.equal(findStateDict(unpickle(mini)).size, 5);
  fc.assert(
    fc.property(
      fc.oneof(
        {
          weight: 19,
          arbitrary: fc.record({ kind: fc.constant('mini' as const), changes: mutation(mini.length), cut: fc.option(fc.nat({ max: mini.length })) }),
        },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('whole' as const), changes: mutation(pkl.length), cut: fc.constant(null) }) },
      ),
      ({ kind, changes, cut }) => {
        const bytes = kind === 'whole' ? pkl : mini;
        return mutatedSync(bytes, changes, () => endsWellSync(tally, () => unpickle(cut === null ? bytes : bytes.subarray(0, cut))));
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
  t.diagnostic(`mutated data.pkl: ${tally.ok} read, ${tally.refused} refused`);
  assert.ok(tally.ok > 0 && tally.refused > 0, 'mutations should both pass and fail');
});
