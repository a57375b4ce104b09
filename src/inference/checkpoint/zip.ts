/**
 * A read-only zip reader for torch.save archives, with zip64.
 *
 * torch writes every entry STORED (method 0), with sizes only in the central directory (local
 * headers carry a data descriptor flag) and always adds a zip64 end-of-central-directory record.
 * We read the central directory once, check every entry's local header, and then serve byte
 * ranges of an entry by file offset, so a tensor can be read without touching the rest.
 * DEFLATE entries (method 8, e.g. a checkpoint re-zipped by hand) are accepted too, but can only
 * be read whole. Anything inconsistent throws VoicemoodError('model_invalid').
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { VoicemoodError } from '../../domain/errors.ts';
import type { RandomAccessSource } from './source.ts';

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate. */
  readonly method: 0 | 8;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
  /** File offset of the entry's first data byte. */
  readonly dataOffset: number;
}

export interface ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /**
   * Bytes [start, start + length) of an entry's uncompressed data. Reading a whole entry checks
   * its CRC-32.
   */
  read(entry: ZipEntry, start?: number, length?: number): Promise<Buffer>;
  close(): Promise<void>;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;
const CENTRAL_SIZE = 30 + 16; // 46 bytes of fixed fields
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
/** More than any checkpoint needs (the large model has a few hundred entries), and bounds memory. */
const MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024;
/** Whole-entry reads of compressed data are bounded so that a tiny file cannot inflate to gigabytes. */
const MAX_INFLATED_BYTES = 1024 * 1024 * 1024;

function invalid(sentence: string, details: Record<string, unknown> = {}): VoicemoodError {
  return new VoicemoodError('model_invalid', `model.pt is not a readable checkpoint archive: ${sentence}`, { details });
}

function u64(buf: Buffer, offset: number, field: string): number {
  const v = buf.readBigUInt64LE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`the ${field} is impossibly large.`);
  return Number(v);
}

interface DirectoryLocation {
  count: number;
  offset: number;
  size: number;
}

async function findDirectory(source: RandomAccessSource): Promise<DirectoryLocation> {
  if (source.size < EOCD_SIZE) throw invalid('the file is too short to be a zip archive.');
  const tailLength = Math.min(source.size, EOCD_SIZE + MAX_COMMENT + ZIP64_LOCATOR_SIZE);
  const tailStart = source.size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  // The end record is the last signature whose comment length reaches exactly the end of the file.
  let at = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD && i + EOCD_SIZE + tail.readUInt16LE(i + 20) === tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw invalid('its end-of-archive record is missing (the file may be cut short).');
  const disk = tail.readUInt16LE(at + 4);
  const cdDisk = tail.readUInt16LE(at + 6);
  let count = tail.readUInt16LE(at + 10);
  let size = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  const eocdOffset = tailStart + at;

  // Where the central directory must end: at the zip64 end record when there is one.
  let directoryLimit = eocdOffset;
  const hasLocator = at >= ZIP64_LOCATOR_SIZE && tail.readUInt32LE(at - ZIP64_LOCATOR_SIZE) === SIG_ZIP64_LOCATOR;
  if (hasLocator) {
    const loc = at - ZIP64_LOCATOR_SIZE;
    const zip64Offset = u64(tail, loc + 8, 'zip64 record offset');
    if (tail.readUInt32LE(loc + 16) > 1) throw invalid('it is split over several disks.');
    if (zip64Offset + ZIP64_EOCD_SIZE > eocdOffset - ZIP64_LOCATOR_SIZE) throw invalid('its zip64 record lies outside the file.');
    const rec = await source.read(zip64Offset, ZIP64_EOCD_SIZE);
    if (rec.readUInt32LE(0) !== SIG_ZIP64_EOCD) throw invalid('its zip64 end record is missing.');
    if (rec.readUInt32LE(16) !== 0 || rec.readUInt32LE(20) !== 0) throw invalid('it is split over several disks.');
    count = u64(rec, 32, 'entry count');
    if (u64(rec, 24, 'entry count') !== count) throw invalid('it is split over several disks.');
    size = u64(rec, 40, 'central directory size');
    offset = u64(rec, 48, 'central directory offset');
    directoryLimit = zip64Offset;
  } else {
    if (disk !== 0 || cdDisk !== 0) throw invalid('it is split over several disks.');
    if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) throw invalid('it needs zip64 records that are missing.');
  }
  if (offset + size > directoryLimit) throw invalid('its central directory lies outside the file.', { offset, size });
  if (size > MAX_CENTRAL_DIRECTORY_BYTES) throw invalid('its central directory is implausibly large.', { size });
  if (count * CENTRAL_SIZE > size) throw invalid('its entry count does not fit its central directory.', { count, size });
  return { count, offset, size };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(raw: Buffer): string {
  let name: string;
  try {
    name = utf8.decode(raw);
  } catch {
    throw invalid('an entry name is not valid text.');
  }
  if (name.length === 0 || name.includes('\0') || name.startsWith('/') || name.split(/[\\/]/).includes('..')) {
    throw invalid(`the entry name ${JSON.stringify(name.slice(0, 80))} is not allowed.`);
  }
  return name;
}

interface CentralRecord {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

function parseCentralDirectory(cd: Buffer, count: number): CentralRecord[] {
  const records: CentralRecord[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_SIZE > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw invalid('its central directory is damaged.', { entry: i });
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    const diskStart = cd.readUInt16LE(p + 34);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const end = p + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (end > cd.length) throw invalid('its central directory is damaged.', { entry: i });
    const name = decodeName(cd.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLength));
    // zip64 extra field (id 1): only the fields whose 32-bit value is saturated, in this order.
    const extra = cd.subarray(p + CENTRAL_SIZE + nameLength, p + CENTRAL_SIZE + nameLength + extraLength);
    let e = 0;
    while (e + 4 <= extra.length) {
      const id = extra.readUInt16LE(e);
      const len = extra.readUInt16LE(e + 2);
      if (e + 4 + len > extra.length) throw invalid(`the extra field of ${name} is damaged.`);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (field: string): number => {
          if (q + 8 > e + 4 + len) throw invalid(`the zip64 field of ${name} is too short.`);
          const v = u64(extra, q, field);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take('entry size');
        if (compressedSize === 0xffffffff) compressedSize = take('entry size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take('entry offset');
      }
      e += 4 + len;
    }
    if (diskStart !== 0 && diskStart !== 0xffff) throw invalid('it is split over several disks.');
    records.push({ name, method, flags, crc32: crc, compressedSize, size, localHeaderOffset });
    p = end;
  }
  return records;
}

export async function openZip(source: RandomAccessSource): Promise<ZipArchive> {
  const dir = await findDirectory(source);
  const cd = await source.read(dir.offset, dir.size);
  const records = parseCentralDirectory(cd, dir.count);

  const entries = new Map<string, ZipEntry>();
  const spans: [number, number, string][] = [];
  for (const r of records) {
    if (entries.has(r.name)) throw invalid(`the entry ${r.name} appears twice.`);
    if (r.flags & 0x1) throw invalid(`the entry ${r.name} is encrypted.`);
    if (r.method !== 0 && r.method !== 8)
      throw invalid(`the entry ${r.name} uses compression method ${r.method}; only stored and deflate entries are supported.`);
    if (r.method === 0 && r.compressedSize !== r.size) throw invalid(`the stored entry ${r.name} has two different sizes.`);
    if (r.localHeaderOffset + LOCAL_SIZE > dir.offset) throw invalid(`the entry ${r.name} starts outside the archive data.`);
    const local = await source.read(r.localHeaderOffset, LOCAL_SIZE);
    if (local.readUInt32LE(0) !== SIG_LOCAL) throw invalid(`the local header of ${r.name} is missing.`);
    const nameLength = local.readUInt16LE(26);
    const extraLength = local.readUInt16LE(28);
    const dataOffset = r.localHeaderOffset + LOCAL_SIZE + nameLength + extraLength;
    if (dataOffset + r.compressedSize > dir.offset) throw invalid(`the data of ${r.name} runs past the archive data.`, { dataOffset, size: r.compressedSize });
    const localName = await source.read(r.localHeaderOffset + LOCAL_SIZE, nameLength);
    if (!localName.equals(Buffer.from(r.name, 'utf8'))) throw invalid(`the local header of ${r.name} names another file.`);
    const entry: ZipEntry = {
      name: r.name,
      method: r.method,
      compressedSize: r.compressedSize,
      size: r.size,
      crc32: r.crc32,
      localHeaderOffset: r.localHeaderOffset,
      dataOffset,
    };
    entries.set(r.name, entry);
    spans.push([r.localHeaderOffset, dataOffset + r.compressedSize, r.name]);
  }
  // Overlapping entries are how zip bombs and confused readers are made; a torch archive has none.
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) throw invalid(`the entries ${spans[i - 1][2]} and ${spans[i][2]} overlap.`);
  }

  return {
    entries,
    async read(entry, start = 0, length = entry.size - start) {
      if (entries.get(entry.name) !== entry) throw new VoicemoodError('internal', 'A zip entry was read through the wrong archive.');
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > entry.size) {
        throw invalid(`a read past the end of ${entry.name} was asked for.`, { start, length, size: entry.size });
      }
      const whole = start === 0 && length === entry.size;
      let data: Buffer;
      if (entry.method === 0) {
        data = await source.read(entry.dataOffset + start, length);
        if (!whole) return data;
      } else {
        if (entry.size > MAX_INFLATED_BYTES) throw invalid(`the compressed entry ${entry.name} is too large to unpack.`);
        const packed = await source.read(entry.dataOffset, entry.compressedSize);
        let full: Buffer;
        try {
          full = inflateRawSync(packed, { maxOutputLength: Math.max(1, entry.size) });
        } catch (e) {
          throw new VoicemoodError('model_invalid', `model.pt is not a readable checkpoint archive: the entry ${entry.name} does not unpack.`, { cause: e });
        }
        if (full.length !== entry.size) throw invalid(`the entry ${entry.name} unpacks to the wrong size.`);
        data = full.subarray(start, start + length);
        if (!whole) return data;
      }
      if (crc32(data) >>> 0 !== entry.crc32) throw invalid(`the entry ${entry.name} is damaged (its checksum does not match).`);
      return data;
    },
    close: () => source.close(),
  };
}
