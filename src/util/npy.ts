/**
 * NumPy .npy files, format version 1.0, float32 little-endian ('<f4'), C order.
 * Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *   magic "\x93NUMPY", version 1 0, uint16 LE header length, then an ASCII dict literal padded
 *   with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes.
 */
import { VoicemoodError } from '../domain/errors.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const PREFIX = 10; // magic + version + header length
const ALIGN = 64;

/** The dict literal NumPy writes itself, e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }". */
function shapeLiteral(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

function checkShape(shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new VoicemoodError('bad_input', `A .npy shape needs non-negative whole numbers; got [${shape.join(', ')}].`);
  }
}

export function npyHeader(shape: readonly number[]): Uint8Array {
  checkShape(shape);
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  const unpadded = PREFIX + dict.length + 1; // +1 for the final '\n'
  const total = Math.ceil(unpadded / ALIGN) * ALIGN;
  const headerLen = total - PREFIX;
  if (headerLen > 0xffff) throw new VoicemoodError('bad_input', `A shape of ${shape.length} dimensions does not fit a version 1.0 .npy header.`);
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = headerLen & 0xff;
  out[9] = headerLen >> 8;
  const text = dict + ' '.repeat(total - unpadded) + '\n';
  for (let i = 0; i < text.length; i++) out[PREFIX + i] = text.charCodeAt(i);
  return out;
}

/** A whole .npy file holding `data` (row-major) with the given shape. */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  checkShape(shape);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new VoicemoodError('bad_input', `A .npy shape of [${shape.join(', ')}] needs ${count} values, not ${data.length}.`);
  const header = npyHeader(shape);
  const out = new Uint8Array(header.length + data.length * 4);
  out.set(header, 0);
  const view = new DataView(out.buffer, header.length);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

/** Reads back a '<f4' C-order .npy v1.0 file (what encodeNpy writes). */
export function decodeNpy(bytes: Uint8Array): { shape: number[]; data: Float32Array } {
  const bad = (why: string) => new VoicemoodError('bad_input', `Not a float32 .npy file: ${why}.`);
  if (bytes.length < PREFIX || MAGIC.some((m, i) => bytes[i] !== m)) throw bad('wrong magic');
  if (bytes[6] !== 1) throw bad(`version ${bytes[6]}.${bytes[7]}`);
  const headerLen = bytes[8] | (bytes[9] << 8);
  if (PREFIX + headerLen > bytes.length) throw bad('header runs past the end');
  const dict = String.fromCharCode(...bytes.subarray(PREFIX, PREFIX + headerLen));
  if (!/'descr':\s*'<f4'/.test(dict) || !/'fortran_order':\s*False/.test(dict)) throw bad(`unsupported header ${dict.trim()}`);
  const m = /'shape':\s*\(([^)]*)\)/.exec(dict);
  if (!m) throw bad('no shape');
  const dims = m[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // Whole non-negative numbers only: "-2" or "1e3" in a damaged header is not a shape.
  if (!dims.every((d) => /^\d{1,15}$/.test(d))) throw bad(`bad shape (${m[1]})`);
  const shape = dims.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = PREFIX + headerLen;
  if (bytes.length - start !== count * 4) throw bad(`expected ${count * 4} data bytes, found ${bytes.length - start}`);
  const data = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * 4);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
  return { shape, data };
}
