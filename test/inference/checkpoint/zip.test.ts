import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { bufferSource, fileSource, openZip } from '../../../src/inference/checkpoint/index.ts';
import { buildZip, centralRecord, endRecords, localRecord } from './helpers.ts';

const FIXTURE = new URL('../../fixtures/emotion2vec-reference/model.pt', import.meta.url).pathname;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function rejectsInvalid(bytes: Uint8Array, pattern?: RegExp): Promise<void> {
  await assert.rejects(
    async () => {
      const zip = await openZip(bufferSource(bytes));
      for (const e of zip.entries.values()) await zip.read(e);
    },
    (e: unknown) => isVoicemoodError(e, 'model_invalid') && (pattern === undefined || pattern.test(e.message)),
  );
}

test('lists the fixture archive as python zipfile does and reads entries by offset', async () => {
  const zip = await openZip(await fileSource(FIXTURE));
  try {
    assert.equal(zip.entries.size, 101);
    const pkl = zip.entries.get('model/data.pkl');
    assert.ok(pkl);
    assert.equal(pkl.size, 26814);
    assert.equal(pkl.localHeaderOffset, 0);
    assert.equal(pkl.method, 0);
    const d11 = zip.entries.get('model/data/11');
    assert.ok(d11);
    assert.equal(d11.size, 12288);
    assert.equal(d11.localHeaderOffset, 29840);
    // sha256 of the entries as python3's zipfile reads them
    assert.equal(sha(await zip.read(pkl)), 'cbb2361b2db81b82ab4c73ad21fd425ff457d7bdbc7ed118420c5d8e91e7e74f');
    assert.equal(sha(await zip.read(d11)), '9667c5442e0bf77ca43a50914303e3cd7480310991592f1e85dfa0a4a52c1dc5');
    // a range read is the same bytes as the slice of a whole read
    const whole = await zip.read(d11);
    assert.deepEqual(await zip.read(d11, 100, 37), whole.subarray(100, 137));
    await assert.rejects(zip.read(d11, 12280, 9), (e: unknown) => isVoicemoodError(e, 'model_invalid'));
  } finally {
    await zip.close();
  }
});

test('reads a zip64 archive whose 32-bit fields are all saturated, and deflate entries', async () => {
  const a = randomBytes(1000);
  const b = Buffer.from('stored and deflated '.repeat(40));
  const bytes = buildZip(
    [
      { name: 'r/a', data: a },
      { name: 'r/b', data: b, deflate: true },
    ],
    { zip64: true, comment: 'a comment' },
  );
  const zip = await openZip(bufferSource(bytes));
  assert.deepEqual([...zip.entries.keys()], ['r/a', 'r/b']);
  const ea = zip.entries.get('r/a')!;
  assert.equal(ea.size, 1000);
  assert.deepEqual(await zip.read(ea), a);
  assert.deepEqual(await zip.read(ea, 999, 1), a.subarray(999));
  const eb = zip.entries.get('r/b')!;
  assert.equal(eb.method, 8);
  assert.ok(eb.compressedSize < b.length);
  assert.deepEqual(await zip.read(eb), b);
  assert.deepEqual(await zip.read(eb, 5, 10), b.subarray(5, 15));
});

test('reads entries past 4 GiB in a sparse zip64 file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vm-zip64-'));
  const path = join(dir, 'big.zip');
  try {
    const bigSize = 2 ** 32 + 4096; // larger than any 32-bit size field can hold
    const tail = Buffer.from('end of the big entry!');
    const small = Buffer.from('the small entry after 4 GiB');
    const fd = openSync(path, 'w');
    let cd: Buffer;
    let smallAt: number;
    try {
      const bigLocal = localRecord('big/a', Buffer.alloc(0), 0, 0, bigSize, true);
      writeSync(fd, bigLocal, 0, bigLocal.length, 0);
      const bigData = bigLocal.length;
      writeSync(fd, tail, 0, tail.length, bigData + bigSize - tail.length); // the rest is a hole
      smallAt = bigData + bigSize;
      const { crc32 } = await import('node:zlib');
      const smallCrc = crc32(small) >>> 0;
      const smallLocal = localRecord('big/b', small, 0, smallCrc, small.length, true);
      writeSync(fd, smallLocal, 0, smallLocal.length, smallAt);
      const cdAt = smallAt + smallLocal.length;
      cd = Buffer.concat([
        centralRecord('big/a', bigSize, 0, 0, bigSize, 0, true),
        centralRecord('big/b', small.length, 0, smallCrc, small.length, smallAt, true),
      ]);
      const end = Buffer.concat([cd, endRecords(2, cdAt, cd.length, true)]);
      writeSync(fd, end, 0, end.length, cdAt);
    } finally {
      closeSync(fd);
    }
    if (statSync(path).blocks * 512 > 64 * 1024 * 1024) t.diagnostic('the temporary file system does not keep files sparse');
    const zip = await openZip(await fileSource(path));
    try {
      const a = zip.entries.get('big/a')!;
      const b = zip.entries.get('big/b')!;
      assert.equal(a.size, bigSize);
      assert.equal(b.localHeaderOffset, smallAt);
      assert.ok(b.dataOffset > 2 ** 32);
      assert.deepEqual(await zip.read(b), small);
      assert.deepEqual(await zip.read(a, bigSize - tail.length, tail.length), tail);
    } finally {
      await zip.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('truncated archives are model_invalid', async () => {
  const bytes = readFileSync(FIXTURE);
  for (const keep of [0, 10, 21, 1000, bytes.length - 200, bytes.length - 60, bytes.length - 23, bytes.length - 1]) {
    await rejectsInvalid(bytes.subarray(0, keep));
  }
  // Cut from the front: every offset is wrong.
  await rejectsInvalid(bytes.subarray(1000));
});

test('garbage and damaged archives are model_invalid with a sentence saying why', async () => {
  await rejectsInvalid(randomBytes(5000), /end-of-archive record is missing/);
  await rejectsInvalid(Buffer.from('PK\u0005\u0006 this is not really an end record at all'), /end-of-archive/);
  const good = buildZip([{ name: 'r/a', data: Buffer.from('hello world') }]);
  // A flipped data byte: the checksum catches it.
  const damaged = Buffer.from(good);
  damaged[good.indexOf('hello')] ^= 0xff;
  await rejectsInvalid(damaged, /checksum/);
  // Encrypted flag and an unknown compression method in the central directory.
  const cdAt = good.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  const encrypted = Buffer.from(good);
  encrypted.writeUInt16LE(0x0801, cdAt + 8);
  await rejectsInvalid(encrypted, /encrypted/);
  const bzip2 = Buffer.from(good);
  bzip2.writeUInt16LE(12, cdAt + 10);
  await rejectsInvalid(bzip2, /compression method 12/);
  // Central directory offset beyond the file.
  const eocdAt = good.length - 22;
  const farCd = Buffer.from(good);
  farCd.writeUInt32LE(good.length + 100, eocdAt + 16);
  await rejectsInvalid(farCd, /outside the file/);
});

test('suspicious names, duplicates and overlapping entries are refused', async () => {
  await rejectsInvalid(buildZip([{ name: '../evil', data: Buffer.from('x') }]), /not allowed/);
  await rejectsInvalid(buildZip([{ name: '/abs', data: Buffer.from('x') }]), /not allowed/);
  await rejectsInvalid(
    buildZip([
      { name: 'r/a', data: Buffer.from('x') },
      { name: 'r/a', data: Buffer.from('y') },
    ]),
    /appears twice/,
  );
  // Entry b's local header hides inside entry a's data.
  const inner = localRecord('r/b', Buffer.from('xyz'), 0, 0, 3, false);
  const outerLocal = localRecord('r/a', inner, 0, 0, inner.length, false);
  const innerAt = outerLocal.length - inner.length;
  const cd = Buffer.concat([centralRecord('r/a', inner.length, 0, 0, inner.length, 0, false), centralRecord('r/b', 3, 0, 0, 3, innerAt, false)]);
  const overlapping = Buffer.concat([outerLocal, cd, endRecords(2, outerLocal.length, cd.length, false)]);
  await rejectsInvalid(overlapping, /overlap/);
});
