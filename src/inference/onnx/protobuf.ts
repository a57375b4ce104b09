/**
 * Minimal protobuf wire-format encoding: just what ONNX needs (varints, length-delimited fields,
 * fixed32 floats). Small messages are encoded in memory with ProtoEncoder; the big initializer
 * payloads never go through here (see writer.ts), only their sizes do.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** Bytes a varint takes. Negative int64 values take 10 bytes (two's complement, as protobuf does). */
export function varintSize(value: number | bigint): number {
  let v = BigInt.asUintN(64, BigInt(value));
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

export function tagSize(field: number): number {
  return varintSize(field << 3);
}

/** Size of a whole length-delimited field (tag + length + payload) whose payload has `len` bytes. */
export function lenFieldSize(field: number, len: number): number {
  return tagSize(field) + varintSize(len) + len;
}

/** Growable byte buffer writing protobuf fields. */
export class ProtoEncoder {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** int32/int64/enum/bool field. */
  int(field: number, value: number | bigint): this {
    return this.tag(field, WIRE_VARINT).varint(value);
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat32(this.pos, value, true);
    this.pos += 4;
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    return this.tag(field, WIRE_LEN).varint(value.length).raw(value);
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** An embedded message (already encoded). */
  message(field: number, encoded: Uint8Array): this {
    return this.bytes(field, encoded);
  }

  /** Only the tag and length of a length-delimited field whose payload the caller writes next. */
  lenHeader(field: number, len: number): this {
    return this.tag(field, WIRE_LEN).varint(len);
  }

  get length(): number {
    return this.pos;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Reads a varint from `bytes` at `pos`; returns the value and the next position (undefined when truncated). */
export function readVarint(bytes: Uint8Array, pos: number): { value: bigint; next: number } | undefined {
  let result = 0n;
  let shift = 0n;
  for (let i = pos; i < bytes.length && i < pos + 10; i++) {
    const b = bytes[i];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return { value: result, next: i + 1 };
    shift += 7n;
  }
  return undefined;
}
