/**
 * A safe pickle interpreter for torch state dicts. Nothing in the pickle is ever executed:
 * the only Python globals it may name are the allow-listed ones below, and "calling" them
 * (REDUCE) builds plain data (a dict, a tensor description). Any other global is refused with
 * VoicemoodError('unsafe_checkpoint') the moment it is named, before any further opcode runs.
 *
 * Supported: protocol 2 opcodes a state dict uses (plus FRAME/MEMOIZE/STACK_GLOBAL/
 * SHORT_BINUNICODE/BINUNICODE8 from protocols 3-4, and the harmless POP/POP_MARK/DUP).
 * Memory is bounded by the input: every opcode adds at most one value or moves existing ones,
 * strings and ints are length-checked against the bytes left, and the interpreter never recurses.
 */
import { isUtf8 } from 'node:buffer';
import { VoicemoodError } from '../../domain/errors.ts';

/** A Python tuple. */
export class PyTuple {
  readonly items: readonly PyValue[];
  constructor(items: readonly PyValue[]) {
    this.items = items;
  }
}

/** A Python list. */
export class PyList {
  readonly items: PyValue[];
  constructor(items: PyValue[] = []) {
    this.items = items;
  }
}

export type PyKey = string | number | bigint | boolean | null;

/** A dict or collections.OrderedDict (insertion order kept). BUILD state lands in `attributes`. */
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  attributes: PyValue = null;
}

/** A reference to an allow-listed Python global, e.g. torch.FloatStorage. */
export class PyGlobal {
  readonly qualifiedName: AllowedGlobal;
  constructor(qualifiedName: AllowedGlobal) {
    this.qualifiedName = qualifiedName;
  }
}

/** What a persistent id ('storage', torch.XStorage, key, location, numel) stands for. */
export class StorageRef {
  readonly storageType: StorageTypeName;
  /** Names the archive entry `<root>/data/<key>`. */
  readonly key: string;
  readonly location: string;
  /** Number of elements of the storage's dtype. */
  readonly numel: number;
  constructor(storageType: StorageTypeName, key: string, location: string, numel: number) {
    this.storageType = storageType;
    this.key = key;
    this.location = location;
    this.numel = numel;
  }
}

/** What torch._utils._rebuild_tensor_v2 would build: a view into a storage. */
export class TensorRef {
  readonly storage: StorageRef;
  /** In elements. */
  readonly storageOffset: number;
  readonly shape: readonly number[];
  /** In elements. */
  readonly stride: readonly number[];
  constructor(storage: StorageRef, storageOffset: number, shape: readonly number[], stride: readonly number[]) {
    this.storage = storage;
    this.storageOffset = storageOffset;
    this.shape = shape;
    this.stride = stride;
  }
}

export type PyValue = null | boolean | number | bigint | string | PyTuple | PyList | PyDict | PyGlobal | StorageRef | TensorRef;

export const STORAGE_TYPES = [
  'torch.FloatStorage',
  'torch.HalfStorage',
  'torch.BFloat16Storage',
  'torch.DoubleStorage',
  'torch.LongStorage',
  'torch.IntStorage',
  'torch.ByteStorage',
  'torch.BoolStorage',
] as const;
export type StorageTypeName = (typeof STORAGE_TYPES)[number];

const CALLABLES = ['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter'] as const;
export const ALLOWED_GLOBALS: readonly string[] = [...CALLABLES, ...STORAGE_TYPES];
export type AllowedGlobal = (typeof CALLABLES)[number] | StorageTypeName;

/** Larger than any state dict pickle (the 1.95 GB model's data.pkl is ~100 KB). */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;
const MAX_TENSOR_RANK = 16;

const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};
/** Opcodes that build arbitrary objects or import through other doors than GLOBAL. */
const OBJECT_BUILDING = new Set(['INST', 'OBJ', 'NEWOBJ', 'NEWOBJ_EX', 'EXT1', 'EXT2', 'EXT4', 'PERSID']);

function invalid(sentence: string, details: Record<string, unknown> = {}): VoicemoodError {
  return new VoicemoodError('model_invalid', `model.pt holds a damaged or unsupported state dict: ${sentence}`, { details });
}

/** Printable, bounded form of a name taken from hostile input. */
function shown(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced here
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 120)}…` : clean;
}

export function refuseGlobal(qualified: string): VoicemoodError {
  return new VoicemoodError(
    'unsafe_checkpoint',
    `model.pt asks for the Python global '${shown(qualified)}', which a checkpoint never needs: refusing to load it.`,
    { details: { global: shown(qualified) } },
  );
}

function checkGlobal(module: string, name: string): PyGlobal {
  const qualified = `${module}.${name}`;
  if (!ALLOWED_GLOBALS.includes(qualified)) throw refuseGlobal(qualified);
  return new PyGlobal(qualified as AllowedGlobal);
}

function isStorageType(v: PyValue): v is PyGlobal & { qualifiedName: StorageTypeName } {
  return v instanceof PyGlobal && (STORAGE_TYPES as readonly string[]).includes(v.qualifiedName);
}

function asIndex(v: PyValue, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(`${what} is not a non-negative integer.`);
  return v;
}

function asIndexTuple(v: PyValue, what: string): number[] {
  if (!(v instanceof PyTuple)) throw invalid(`${what} is not a tuple.`);
  if (v.items.length > MAX_TENSOR_RANK) throw invalid(`${what} has too many dimensions.`);
  return v.items.map((x) => asIndex(x, what));
}

/**
 * Globals are only ever consumed: a callable by REDUCE, a storage type inside the persistent id
 * that BINPERSID turns into a StorageRef. One stored anywhere else is not a state dict.
 */
function stored(v: PyValue): PyValue {
  if (v instanceof PyGlobal || (v instanceof PyTuple && v.items.some((x) => x instanceof PyGlobal))) {
    throw invalid('it stores a Python global as data, which a state dict never does.');
  }
  return v;
}

function asKey(v: PyValue): PyKey {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
  throw invalid('a dict key is not a plain value.');
}

function persistentLoad(pid: PyValue): StorageRef {
  if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
    throw invalid('a persistent id is not a storage reference.');
  }
  const [, type, key, location, numel] = pid.items;
  if (!isStorageType(type)) throw invalid('a storage reference does not name a storage type.');
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(key) || key.includes('..')) throw invalid('a storage key is not a plain name.');
  if (typeof location !== 'string') throw invalid('a storage location is not text.');
  return new StorageRef(type.qualifiedName, key, location, asIndex(numel, 'a storage size'));
}

/** Interprets an allow-listed callable as a data constructor. */
function construct(fn: PyValue, args: PyValue): PyValue {
  if (!(fn instanceof PyGlobal)) throw invalid('it calls something that is not a function.');
  if (!(args instanceof PyTuple)) throw invalid('a call has no argument tuple.');
  const a = args.items.map(stored);
  switch (fn.qualifiedName) {
    case 'collections.OrderedDict': {
      const dict = new PyDict();
      if (a.length === 0) return dict;
      const pairs = a[0];
      if (a.length !== 1 || !(pairs instanceof PyList || pairs instanceof PyTuple)) throw invalid('an OrderedDict is built from something other than pairs.');
      for (const pair of pairs.items) {
        if (!(pair instanceof PyTuple) || pair.items.length !== 2) throw invalid('an OrderedDict is built from something other than pairs.');
        dict.map.set(asKey(pair.items[0]), stored(pair.items[1]));
      }
      return dict;
    }
    case 'torch._utils._rebuild_tensor_v2': {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (a.length !== 6 && a.length !== 7) throw invalid('a tensor is rebuilt with the wrong number of arguments.');
      const storage = a[0];
      if (!(storage instanceof StorageRef)) throw invalid('a tensor does not point at a storage.');
      const shape = asIndexTuple(a[2], 'a tensor size');
      const stride = asIndexTuple(a[3], 'a tensor stride');
      if (shape.length !== stride.length) throw invalid('a tensor has as many strides as dimensions.');
      if (typeof a[4] !== 'boolean') throw invalid('a tensor requires_grad flag is not a boolean.');
      return new TensorRef(storage, asIndex(a[1], 'a tensor storage offset'), shape, stride);
    }
    case 'torch._utils._rebuild_parameter': {
      // (data, requires_grad, backward_hooks): a Parameter is its tensor for our purposes.
      if (a.length !== 3 || !(a[0] instanceof TensorRef)) throw invalid('a parameter does not wrap a tensor.');
      return a[0];
    }
    default:
      throw invalid(`it calls ${fn.qualifiedName}, which is only allowed as a storage type.`);
  }
}

/** Runs the pickle program in `data` and returns the value it builds. */
export function unpickle(data: Uint8Array): PyValue {
  if (data.length > MAX_PICKLE_BYTES) throw invalid('the pickle is implausibly large.', { bytes: data.length });
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let p = 0;

  const need = (n: number): void => {
    if (n < 0 || p + n > buf.length) throw invalid('the pickle ends in the middle of an instruction.', { at: p });
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) throw invalid('the pickle pops from an empty stack.', { at: p });
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) throw invalid('the pickle reads an empty stack.', { at: p });
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) throw invalid('the pickle closes a mark it never opened.', { at: p });
    return stack.splice(m);
  };
  const text = (n: number): string => {
    need(n);
    if (!isUtf8(buf.subarray(p, p + n))) throw invalid('a string is not valid UTF-8.', { at: p });
    return buf.toString('utf8', p, (p += n));
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, p);
    if (end < 0 || end - p > 256) throw invalid('a global name is not terminated.', { at: p });
    const s = buf.toString('latin1', p, end);
    p = end + 1;
    return s;
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) throw invalid('the pickle refers to a value it never stored.', { at: p });
    return memo.get(i) as PyValue;
  };

  while (p < buf.length) {
    const op = buf[p++];
    switch (op) {
      case 0x80: // PROTO
        need(1);
        if (buf[p++] > 5) throw invalid('the pickle protocol is newer than any torch writes.');
        break;
      case 0x95: // FRAME: only a hint for buffered readers
        need(8);
        p += 8;
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) throw invalid('the pickle stops with a malformed stack.');
        return stored(stack[0]);
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push(new PyList());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x58: {
        // BINUNICODE
        need(4);
        const n = buf.readUInt32LE(p);
        p += 4;
        stack.push(text(n));
        break;
      }
      case 0x8c: {
        // SHORT_BINUNICODE
        need(1);
        const n = buf[p++];
        stack.push(text(n));
        break;
      }
      case 0x8d: {
        // BINUNICODE8
        need(8);
        const n = buf.readBigUInt64LE(p);
        p += 8;
        if (n > BigInt(buf.length)) throw invalid('a string is longer than the pickle.');
        stack.push(text(Number(n)));
        break;
      }
      case 0x4a: // BININT
        need(4);
        stack.push(buf.readInt32LE(p));
        p += 4;
        break;
      case 0x4b: // BININT1
        need(1);
        stack.push(buf[p++]);
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(buf.readUInt16LE(p));
        p += 2;
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        need(1);
        const n = buf[p++];
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[p + i]);
        if (n > 0 && buf[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(buf.readDoubleBE(p));
        p += 8;
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x71: // BINPUT
        need(1);
        memo.set(buf[p++], top());
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        memo.set(buf.readUInt32LE(p), top());
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        need(1);
        stack.push(memoGet(buf[p++]));
        break;
      case 0x6a: // LONG_BINGET
        need(4);
        stack.push(memoGet(buf.readUInt32LE(p)));
        p += 4;
        break;
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        const dict = top();
        if (!(dict instanceof PyDict)) throw invalid('SETITEM targets something that is not a dict.');
        dict.map.set(asKey(key), stored(value));
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const dict = top();
        if (!(dict instanceof PyDict) || items.length % 2 !== 0) throw invalid('SETITEMS targets something that is not a dict.');
        for (let i = 0; i < items.length; i += 2) dict.map.set(asKey(items[i]), stored(items[i + 1]));
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop();
        const list = top();
        if (!(list instanceof PyList)) throw invalid('APPEND targets something that is not a list.');
        list.items.push(stored(value));
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!(list instanceof PyList)) throw invalid('APPENDS targets something that is not a list.');
        for (const item of items) list.items.push(stored(item));
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n": checked before anything else happens
        const module = line();
        const name = line();
        stack.push(checkGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw invalid('STACK_GLOBAL names are not strings.');
        stack.push(checkGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(construct(fn, args));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      case 0x62: {
        // BUILD: only the state of an OrderedDict (torch keeps `_metadata` there)
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict)) throw invalid('BUILD targets something that is not a dict.');
        obj.attributes = stored(state);
        break;
      }
      default: {
        const name = OPCODE_NAMES[op];
        if (name === 'INST') {
          // INST names its class inline: refuse it by name like GLOBAL when it is not allowed.
          const module = line();
          const cls = line();
          checkGlobal(module, cls);
        }
        if (name !== undefined && OBJECT_BUILDING.has(name)) {
          throw new VoicemoodError(
            'unsafe_checkpoint',
            `model.pt uses the pickle instruction ${name}, which builds arbitrary Python objects and which a checkpoint never needs: refusing to load it.`,
            { details: { opcode: name } },
          );
        }
        const hex = `0x${op.toString(16).padStart(2, '0')}`;
        throw invalid(`it uses the pickle instruction ${name ?? 'unknown'} (${hex}), which a state dict does not need.`, { opcode: name ?? hex, at: p - 1 });
      }
    }
  }
  throw invalid('the pickle ends without a STOP instruction.');
}
