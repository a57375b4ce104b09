/**
 * Builders for test archives and pickles: a minimal zip writer (optionally zip64 with saturated
 * 32-bit fields, as a > 4 GiB archive has them) and a pickle assembler for torch-style state dicts.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipInput {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
}

export interface ZipOptions {
  /** Write zip64 extra fields with every size/offset saturated, plus the zip64 end records. */
  zip64?: boolean;
  /** Bytes put before the first entry (e.g. a gap); offsets shift accordingly. */
  prefix?: Uint8Array;
  comment?: string;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** Local header + data of one entry, for an entry whose local header will sit at `offset`. */
export function localRecord(name: string, stored: Uint8Array, method: number, crc: number, size: number, zip64: boolean): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const extra = zip64 ? Buffer.concat([u16(1), u16(16), u64(size), u64(stored.length)]) : Buffer.alloc(0);
  return Buffer.concat([
    u32(0x04034b50),
    u16(45),
    u16(0x0800),
    u16(method),
    u16(0),
    u16(0x21),
    u32(crc),
    u32(zip64 ? 0xffffffff : stored.length),
    u32(zip64 ? 0xffffffff : size),
    u16(nameBytes.length),
    u16(extra.length),
    nameBytes,
    extra,
    Buffer.from(stored),
  ]);
}

export function centralRecord(name: string, storedLength: number, method: number, crc: number, size: number, offset: number, zip64: boolean): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const extra = zip64 ? Buffer.concat([u16(1), u16(24), u64(size), u64(storedLength), u64(offset)]) : Buffer.alloc(0);
  return Buffer.concat([
    u32(0x02014b50),
    u16(0x031e),
    u16(45),
    u16(0x0800),
    u16(method),
    u16(0),
    u16(0x21),
    u32(crc),
    u32(zip64 ? 0xffffffff : storedLength),
    u32(zip64 ? 0xffffffff : size),
    u16(nameBytes.length),
    u16(extra.length),
    u16(0),
    u16(0),
    u16(0),
    u32(0),
    u32(zip64 ? 0xffffffff : offset),
    nameBytes,
    extra,
  ]);
}

/** End records for a central directory of `count` entries at `cdOffset` with `cdSize` bytes. */
export function endRecords(count: number, cdOffset: number, cdSize: number, zip64: boolean, comment = ''): Buffer {
  const commentBytes = Buffer.from(comment, 'utf8');
  const parts: Buffer[] = [];
  if (zip64) {
    const zip64At = cdOffset + cdSize;
    parts.push(
      u32(0x06064b50),
      u64(44),
      u16(45),
      u16(45),
      u32(0),
      u32(0),
      u64(count),
      u64(count),
      u64(cdSize),
      u64(cdOffset),
      u32(0x07064b50),
      u32(0),
      u64(zip64At),
      u32(1),
    );
  }
  parts.push(
    u32(0x06054b50),
    u16(0),
    u16(0),
    u16(zip64 ? 0xffff : count),
    u16(zip64 ? 0xffff : count),
    u32(zip64 ? 0xffffffff : cdSize),
    u32(zip64 ? 0xffffffff : cdOffset),
    u16(commentBytes.length),
    commentBytes,
  );
  return Buffer.concat(parts);
}

export function buildZip(entries: ZipInput[], options: ZipOptions = {}): Buffer {
  const zip64 = options.zip64 ?? false;
  const body: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = options.prefix?.length ?? 0;
  if (options.prefix) body.push(Buffer.from(options.prefix));
  for (const e of entries) {
    const crc = crc32(e.data) >>> 0;
    const stored = e.deflate ? deflateRawSync(e.data) : e.data;
    const method = e.deflate ? 8 : 0;
    const local = localRecord(e.name, stored, method, crc, e.data.length, zip64);
    central.push(centralRecord(e.name, stored.length, method, crc, e.data.length, offset, zip64));
    body.push(local);
    offset += local.length;
  }
  const cd = Buffer.concat(central);
  return Buffer.concat([...body, cd, endRecords(entries.length, offset, cd.length, zip64, options.comment)]);
}

/** Assembles pickle opcodes. Only what the tests need. */
export class PickleWriter {
  private readonly parts: Buffer[] = [];
  op(byte: number, ...payload: Buffer[]): this {
    this.parts.push(Buffer.from([byte]), ...payload);
    return this;
  }
  proto(v = 2): this {
    return this.op(0x80, Buffer.from([v]));
  }
  global(module: string, name: string): this {
    return this.op(0x63, Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.op(0x58, u32(b.length), b);
  }
  shortStr(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.op(0x8c, Buffer.from([b.length]), b);
  }
  int(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.op(0x4a, b);
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  reduce(): this {
    return this.op(0x52);
  }
  stop(): this {
    return this.op(0x2e);
  }
  ints(values: readonly number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export interface TensorSpec {
  name: string;
  storageType: string; // e.g. 'FloatStorage'
  key: string;
  numel: number;
  offset: number;
  shape: number[];
  stride: number[];
  /** Wrap with torch._utils._rebuild_parameter. */
  parameter?: boolean;
}

/** A torch-style state dict pickle: OrderedDict of _rebuild_tensor_v2 calls over persistent ids. */
export function stateDictPickle(tensors: TensorSpec[], wrapKey?: string): Buffer {
  const w = new PickleWriter().proto(2);
  if (wrapKey) w.op(0x7d).str(wrapKey); // EMPTY_DICT, key — closed with SETITEM below
  w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const t of tensors) {
    w.str(t.name);
    if (t.parameter) w.global('torch._utils', '_rebuild_parameter').mark();
    w.global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', t.storageType).str(t.key).str('cpu').int(t.numel).tuple().op(0x51); // BINPERSID
    w.int(t.offset).ints(t.shape).ints(t.stride).op(0x89); // NEWFALSE
    w.global('collections', 'OrderedDict').emptyTuple().reduce(); // backward_hooks
    w.tuple().reduce();
    if (t.parameter) w.op(0x89).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  }
  w.op(0x75); // SETITEMS
  if (wrapKey) w.op(0x73); // SETITEM
  return w.stop().bytes();
}

/** A torch.save-style archive: `<root>/data.pkl`, `<root>/data/<key>` storages, `<root>/version`. */
export function checkpointArchive(pickle: Uint8Array, storages: Record<string, Uint8Array>, options: ZipOptions & { root?: string } = {}): Buffer {
  const root = options.root ?? 'archive';
  return buildZip(
    [
      { name: `${root}/data.pkl`, data: pickle },
      ...Object.entries(storages).map(([key, data]) => ({ name: `${root}/data/${key}`, data })),
      { name: `${root}/version`, data: Buffer.from('3\n') },
    ],
    options,
  );
}
