/**
 * embedding.npy: NumPy format 1.0 (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
 * The byte-level checks always run; the comparison with numpy's own writer and reader runs when
 * python3 has numpy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy, encodeNpy, npyHeader } from '../../src/util/npy.ts';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

test('header bytes follow the format 1.0 specification', () => {
  const bytes = encodeNpy(new Float32Array(768), [1, 768]);
  // magic string \x93NUMPY, then major 1, minor 0
  assert.deepEqual([...bytes.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]);
  const headerLen = bytes[8] | (bytes[9] << 8); // little-endian unsigned short
  const dataStart = 10 + headerLen;
  assert.equal(dataStart % 64, 0, 'data starts at a multiple of 64 bytes');
  assert.equal(dataStart, 128);
  const header = Buffer.from(bytes.subarray(10, dataStart)).toString('latin1');
  assert.equal(header.at(-1), '\n');
  assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(1, 768\), \} *\n$/);
  assert.equal(bytes.length, dataStart + 768 * 4);
  for (const ch of header) assert.ok(ch.charCodeAt(0) < 128, 'ASCII only');
});

test('shapes: 1-d has the trailing comma, 0-d is (), big dimensions are written in full', () => {
  const text = (shape: number[]) => Buffer.from(npyHeader(shape)).toString('latin1');
  assert.match(text([5]), /'shape': \(5,\), \}/);
  assert.match(text([]), /'shape': \(\), \}/);
  assert.match(text([123456, 1024]), /'shape': \(123456, 1024\), \}/);
  for (const shape of [[], [0], [5], [1, 768], [3000, 1024], [2, 3, 4, 5, 6, 7, 8]]) assert.equal(npyHeader(shape).length % 64, 0);
});

test('float32 little-endian data, C order, reads back exactly', () => {
  const data = Float32Array.from([0, -0, 1.5, -2.25, 3.4028234663852886e38, 1e-45, Number.NaN, Infinity, -Infinity, Math.PI, 7, 8]);
  const bytes = encodeNpy(data, [3, 4]);
  const view = new DataView(bytes.buffer, 128);
  assert.equal(view.getFloat32(2 * 4, true), 1.5); // row 0, column 2
  assert.equal(view.getFloat32(4 * 4, true), 3.4028234663852886e38); // row 1, column 0
  const back = decodeNpy(bytes);
  assert.deepEqual(back.shape, [3, 4]);
  assert.deepEqual([...back.data].map(String), [...data].map(String));
});

test('wrong sizes are refused', () => {
  assert.throws(() => encodeNpy(new Float32Array(5), [2, 3]), /needs 6 values, not 5/);
  assert.throws(() => encodeNpy(new Float32Array(0), [-1]), /non-negative whole numbers/);
  assert.throws(() => decodeNpy(new Uint8Array([1, 2, 3])), /wrong magic/);
});

test('numpy writes the same header and reads our file back', { skip: hasNumpy ? false : 'python3 numpy is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vm-npy-'));
  try {
    for (const shape of [[1, 768], [51, 32], [7], [2, 3, 4]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1000);
      const ours = join(dir, 'ours.npy');
      const theirs = join(dir, 'theirs.npy');
      writeFileSync(ours, encodeNpy(data, shape));
      const script = [
        'import numpy as np, sys',
        `a = np.load(${JSON.stringify(ours)})`,
        `assert a.dtype == np.dtype('<f4') and a.shape == tuple(${JSON.stringify(shape)}) and a.flags['C_CONTIGUOUS'], (a.dtype, a.shape)`,
        `expected = np.sin(np.arange(${n})).astype(np.float64) * 1000`,
        'assert np.allclose(a.reshape(-1), expected.astype(np.float32), rtol=0, atol=0), "values differ"',
        `np.save(${JSON.stringify(theirs)}, a)`,
      ].join('\n');
      execFileSync('python3', ['-c', script]);
      assert.deepEqual(readFileSync(ours), readFileSync(theirs), `byte-identical to numpy.save for shape [${shape}]`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
