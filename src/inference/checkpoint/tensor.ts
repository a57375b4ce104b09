/**
 * Tensors of a torch checkpoint, read lazily: the metadata of every tensor is known when the
 * checkpoint opens, and `read()` fetches just the bytes one tensor needs, so a 2 GB checkpoint
 * can be converted tensor by tensor. Values come back as Float32Array whatever the stored dtype
 * (float32/float16/bfloat16/float64 and the integer types, int64 included); strided
 * (non-contiguous) views are materialised in row-major order.
 */
import { endianness } from 'node:os';
import { VoicemoodError } from '../../domain/errors.ts';
import type { StorageTypeName, TensorRef } from './pickle.ts';

export type Dtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

export const STORAGE_DTYPES: Readonly<Record<StorageTypeName, { dtype: Dtype; itemSize: number }>> = {
  'torch.FloatStorage': { dtype: 'float32', itemSize: 4 },
  'torch.HalfStorage': { dtype: 'float16', itemSize: 2 },
  'torch.BFloat16Storage': { dtype: 'bfloat16', itemSize: 2 },
  'torch.DoubleStorage': { dtype: 'float64', itemSize: 8 },
  'torch.LongStorage': { dtype: 'int64', itemSize: 8 },
  'torch.IntStorage': { dtype: 'int32', itemSize: 4 },
  'torch.ByteStorage': { dtype: 'uint8', itemSize: 1 },
  'torch.BoolStorage': { dtype: 'bool', itemSize: 1 },
};

/** 2^28 floats = 1 GiB: far above the largest emotion2vec+ tensor, low enough to refuse absurd shapes. */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

export interface LazyTensor {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Number of elements (product of the shape). */
  readonly size: number;
  /** Reads this tensor's bytes from model.pt and returns its values in row-major order. */
  read(): Promise<Float32Array>;
}

/** Where a tensor's bytes are: a byte range of its storage, and how to walk it. */
export interface TensorLayout {
  dtype: Dtype;
  itemSize: number;
  shape: number[];
  stride: number[];
  /** Elements, relative to the start of the byte range. */
  offset: number;
  size: number;
  contiguous: boolean;
  /** Byte range of the storage that holds every element of the tensor. */
  byteStart: number;
  byteLength: number;
}

/** Checks a tensor view against its storage and computes the byte range it spans. */
export function tensorLayout(name: string, ref: TensorRef): TensorLayout {
  const { dtype, itemSize } = STORAGE_DTYPES[ref.storage.storageType];
  const shape = [...ref.shape];
  const stride = [...ref.stride];
  let size = 1;
  for (const d of shape) size *= d;
  if (size > MAX_TENSOR_ELEMENTS) {
    throw new VoicemoodError('model_invalid', `model.pt describes the tensor ${name} with an implausible shape [${shape.join(', ')}].`);
  }
  let contiguous = true;
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) contiguous = false;
    expected *= shape[i];
  }
  let lastIndex = ref.storageOffset;
  for (let i = 0; i < shape.length; i++) lastIndex += (shape[i] - 1) * stride[i];
  if (size > 0 && lastIndex >= ref.storage.numel) {
    throw new VoicemoodError('model_invalid', `model.pt describes the tensor ${name} as reaching past the end of its storage.`, {
      details: { shape, stride, storageOffset: ref.storageOffset, numel: ref.storage.numel },
    });
  }
  const span = size === 0 ? 0 : lastIndex - ref.storageOffset + 1;
  return {
    dtype,
    itemSize,
    shape,
    stride,
    offset: 0,
    size,
    contiguous,
    byteStart: ref.storageOffset * itemSize,
    byteLength: span * itemSize,
  };
}

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

let halfTable: Float32Array | undefined;
/** float16 bit pattern → float32 value, for all 65536 patterns (built once). */
function halfToFloat(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac === 0 ? sign * Infinity : NaN;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (halfTable = t);
}

/** Decodes `count` little-endian items of the span into float32, in storage order. */
function decodeSpan(bytes: Buffer, dtype: Dtype, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float32':
      if (LITTLE_ENDIAN_HOST) {
        // Copy through a fresh aligned buffer: the source slice may sit at any byte offset.
        new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
      } else {
        for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      }
      break;
    case 'float16': {
      const table = halfToFloat();
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, true)];
      break;
    }
    case 'bfloat16': {
      // bfloat16 is the upper half of a float32.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'int64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      break;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      break;
    case 'uint8':
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = bytes[i];
      break;
  }
  return out;
}

/** Turns the bytes of a layout's byte range into the tensor's values in row-major order. */
export function materialise(layout: TensorLayout, bytes: Buffer): Float32Array {
  if (bytes.length !== layout.byteLength) throw new VoicemoodError('internal', 'A tensor was read with the wrong number of bytes.');
  const span = decodeSpan(bytes, layout.dtype, layout.byteLength / layout.itemSize);
  if (layout.contiguous) return span;
  const { shape, stride, size } = layout;
  const out = new Float32Array(size);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let src = layout.offset;
  for (let n = 0; n < size; n++) {
    out[n] = span[src];
    // Odometer over the row-major index, moving the source position by the strides.
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) {
        src += stride[d];
        break;
      }
      src -= (shape[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
  return out;
}
