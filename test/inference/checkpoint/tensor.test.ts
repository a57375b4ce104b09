import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { bufferSource, openZip, readStateDict } from '../../../src/inference/checkpoint/index.ts';
import { buildZip, checkpointArchive, stateDictPickle, type TensorSpec } from './helpers.ts';

function u16s(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16LE(v, i * 2));
  return b;
}
const f32 = (values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);

async function load(specs: TensorSpec[], storages: Record<string, Uint8Array>) {
  const bytes = checkpointArchive(stateDictPickle(specs), storages, { zip64: true });
  return readStateDict(await openZip(bufferSource(bytes)));
}

test('every storage dtype is converted to float32', async () => {
  const storages = {
    half: u16s([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00, 0x8000]), // 1, -2, 0.5, 65504, 2^-24, inf, -0
    bf16: u16s([0x3f80, 0xc060, 0x4049, 0xff80]), // 1, -3.5, 3.140625, -inf
    f64: Buffer.from(new Float64Array([0.1, -1e300, 2.5]).buffer),
    i64: Buffer.from(new BigInt64Array([-5n, 2n ** 40n, 7n]).buffer),
    i32: Buffer.from(new Int32Array([-7, 123456]).buffer),
    u8: Buffer.from([0, 200, 255]),
    bool: Buffer.from([1, 0, 1]),
  };
  const t = (name: string, storageType: string, key: string, numel: number): TensorSpec => ({
    name,
    storageType,
    key,
    numel,
    offset: 0,
    shape: [numel],
    stride: [1],
  });
  const tensors = await load(
    [
      t('half', 'HalfStorage', 'half', 7),
      t('bf16', 'BFloat16Storage', 'bf16', 4),
      t('f64', 'DoubleStorage', 'f64', 3),
      t('i64', 'LongStorage', 'i64', 3),
      t('i32', 'IntStorage', 'i32', 2),
      t('u8', 'ByteStorage', 'u8', 3),
      t('bool', 'BoolStorage', 'bool', 3),
    ],
    storages,
  );
  const read = async (name: string): Promise<number[]> => [...(await tensors.get(name)!.read())];
  assert.deepEqual(await read('half'), [1, -2, 0.5, 65504, 2 ** -24, Infinity, -0]);
  assert.equal(tensors.get('half')!.dtype, 'float16');
  assert.deepEqual(await read('bf16'), [1, -3.5, 3.140625, -Infinity]);
  assert.deepEqual(await read('f64'), [Math.fround(0.1), -Infinity, 2.5]); // float32 cannot hold -1e300
  assert.deepEqual(await read('i64'), [-5, 2 ** 40, 7]);
  assert.equal(tensors.get('i64')!.dtype, 'int64');
  assert.deepEqual(await read('i32'), [-7, 123456]);
  assert.deepEqual(await read('u8'), [0, 200, 255]);
  assert.deepEqual(await read('bool'), [1, 0, 1]);
});

test('strided views are materialised in row-major order', async () => {
  const storage = f32(Array.from({ length: 12 }, (_, i) => i)); // 0..11
  const v = (name: string, offset: number, shape: number[], stride: number[]): TensorSpec => ({
    name,
    storageType: 'FloatStorage',
    key: 's',
    numel: 12,
    offset,
    shape,
    stride,
  });
  const tensors = await load(
    [
      v('contiguous', 0, [3, 4], [4, 1]),
      v('transposed', 0, [3, 4], [1, 3]), // the transpose of a contiguous [4, 3]
      v('window', 2, [2, 2], [4, 1]),
      v('expanded', 1, [3, 2], [0, 1]),
      v('every-other', 1, [2, 3], [6, 2]),
      v('empty', 0, [0, 5], [5, 1]),
      v('scalar', 11, [], []),
      v('permuted3d', 0, [2, 3, 2], [1, 4, 2]),
    ],
    { s: storage },
  );
  const read = async (name: string): Promise<number[]> => [...(await tensors.get(name)!.read())];
  assert.deepEqual(await read('contiguous'), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(await read('transposed'), [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]);
  assert.deepEqual(await read('window'), [2, 3, 6, 7]);
  assert.deepEqual(await read('expanded'), [1, 2, 1, 2, 1, 2]);
  assert.deepEqual(await read('every-other'), [1, 3, 5, 7, 9, 11]);
  assert.deepEqual(await read('empty'), []);
  assert.deepEqual(await read('scalar'), [11]);
  // index (i, j, k) → i + 4j + 2k
  const expected: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) expected.push(i + 4 * j + 2 * k);
  assert.deepEqual(await read('permuted3d'), expected);
  assert.deepEqual(tensors.get('permuted3d')!.shape, [2, 3, 2]);
  assert.equal(tensors.get('transposed')!.size, 12);
});

test('tensors that do not fit their storage, and storages of the wrong size, are model_invalid', async () => {
  const s = f32([1, 2, 3, 4]);
  const bad = async (spec: Partial<TensorSpec>, storages: Record<string, Uint8Array>, pattern: RegExp) => {
    const full: TensorSpec = { name: 'w', storageType: 'FloatStorage', key: '0', numel: 4, offset: 0, shape: [4], stride: [1], ...spec };
    await assert.rejects(load([full], storages), (e: unknown) => isVoicemoodError(e, 'model_invalid') && pattern.test(e.message));
  };
  await bad({ shape: [5] }, { '0': s }, /past the end of its storage/);
  await bad({ offset: 1 }, { '0': s }, /past the end of its storage/);
  await bad({ shape: [2, 2], stride: [3, 1] }, { '0': s }, /past the end of its storage/);
  await bad({ numel: 5 }, { '0': s }, /has 16 bytes where 20 were expected/);
  await bad({ key: '1' }, { '0': s }, /storage of w is missing/);
  await bad({ shape: [2 ** 15, 2 ** 14], stride: [0, 0] }, { '0': s }, /implausible shape/);
});

test('a big-endian archive is refused', async () => {
  const pickle = stateDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 1, offset: 0, shape: [1], stride: [1] }]);
  const archive = (order: string): Buffer =>
    buildZip([
      { name: 'archive/data.pkl', data: pickle },
      { name: 'archive/byteorder', data: Buffer.from(order) },
      { name: 'archive/data/0', data: f32([1]) },
    ]);
  const little = await readStateDict(await openZip(bufferSource(archive('little'))));
  assert.deepEqual([...(await little.get('w')!.read())], [1]);
  await assert.rejects(
    readStateDict(await openZip(bufferSource(archive('big')))),
    (e: unknown) => isVoicemoodError(e, 'model_invalid') && /big-endian/.test(e.message),
  );
});
