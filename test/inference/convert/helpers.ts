/** Test helpers: the reference fixture, .npy reading, running a model, error measures. */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseWavHeader, samplesToFloat } from '../../../src/audio/wav.ts';

export const FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', 'emotion2vec-reference');

export interface ExpectedCase {
  input: string;
  samples: number;
  frames_file: string;
  frames_shape: [number, number];
  embedding: number[];
  logits: number[];
  scores: number[];
}

export async function readExpected(): Promise<{ labels: string[]; cases: ExpectedCase[] }> {
  return JSON.parse(await readFile(join(FIXTURE, 'expected.json'), 'utf8'));
}

/** A mono WAV as float32, through the project's WAV parser (the fixtures are 16 kHz float). */
export async function readWavMono(path: string): Promise<{ samples: Float32Array; sampleRate: number }> {
  const bytes = new Uint8Array(await readFile(path));
  const header = parseWavHeader(bytes);
  if (header === 'incomplete') throw new Error(`${path}: truncated WAV`);
  if (header.channels !== 1) throw new Error(`${path}: expected mono`);
  const frames = Math.floor((header.claimedDataBytes ?? bytes.length - header.dataOffset) / header.blockAlign);
  return { samples: samplesToFloat(bytes, header.dataOffset, frames, header), sampleRate: header.sampleRate };
}

/** A little-endian float32 .npy array (C order). */
export async function readNpyFloat32(path: string): Promise<{ shape: number[]; data: Float32Array }> {
  const buf = await readFile(path);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not an .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
    throw new Error(`${path}: expected little-endian float32 C order, got ${header}`);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const offset = start + headerLen;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + buf.length));
  return { shape, data };
}

/** Largest absolute difference (NaN counts as infinitely different). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

export interface ModelOutputs {
  scores: Float32Array;
  logits: Float32Array;
  embedding: Float32Array;
  frames: Float32Array;
  frameScores: Float32Array;
  frameLengths: number[];
  /** [B, T, D] of frames. */
  framesDims: number[];
}

/** Runs clips as one batch, rows zero-padded to the longest. */
export async function runBatch(session: ort.InferenceSession, clips: Float32Array[]): Promise<ModelOutputs> {
  const n = Math.max(...clips.map((c) => c.length));
  const waveform = new Float32Array(clips.length * n);
  clips.forEach((c, i) => waveform.set(c, i * n));
  const out = await session.run({
    waveform: new ort.Tensor('float32', waveform, [clips.length, n]),
    lengths: new ort.Tensor('int64', BigInt64Array.from(clips.map((c) => BigInt(c.length))), [clips.length]),
  });
  const f = (k: string) => out[k].data as Float32Array;
  return {
    scores: f('scores'),
    logits: f('logits'),
    embedding: f('embedding'),
    frames: f('frames'),
    frameScores: f('frame_scores'),
    frameLengths: Array.from(out.frame_lengths.data as BigInt64Array, Number),
    framesDims: [...out.frames.dims],
  };
}

/** Row `i` of a row-major [rows, width] array. */
export function row(data: Float32Array, i: number, width: number): Float32Array {
  return data.subarray(i * width, (i + 1) * width);
}

/**
 * Edits data.pkl inside a torch.save zip (stored, not deflated, as torch writes it) and fixes its
 * CRC-32 in the local header and the central directory. `edit` must keep the length.
 */
export function patchPickle(zip: Buffer, edit: (pkl: Buffer) => void): Buffer {
  const out = Buffer.from(zip);
  const eocd = out.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('no end of central directory');
  let p = out.readUInt32LE(eocd + 16);
  const entries = out.readUInt16LE(eocd + 10);
  for (let i = 0; i < entries; i++) {
    const nameLen = out.readUInt16LE(p + 28);
    const name = out.toString('utf8', p + 46, p + 46 + nameLen);
    if (name.endsWith('/data.pkl')) {
      if (out.readUInt16LE(p + 10) !== 0) throw new Error('data.pkl is compressed');
      const local = out.readUInt32LE(p + 42);
      const size = out.readUInt32LE(p + 20);
      const start = local + 30 + out.readUInt16LE(local + 26) + out.readUInt16LE(local + 28);
      const pkl = out.subarray(start, start + size);
      edit(pkl);
      const crc = crc32(pkl) >>> 0;
      out.writeUInt32LE(crc, p + 16);
      out.writeUInt32LE(crc, local + 14);
      return out;
    }
    p += 46 + nameLen + out.readUInt16LE(p + 30) + out.readUInt16LE(p + 32);
  }
  throw new Error('no data.pkl');
}

/** Renames a state-dict key in a pickle in place (same length; matches the whole BINUNICODE string only). */
export function renameKey(pkl: Buffer, from: string, to: string): void {
  if (from.length !== to.length) throw new Error('keys must have the same length');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(Buffer.byteLength(from));
  const at = pkl.indexOf(Buffer.concat([Buffer.from('X'), len, Buffer.from(from)]));
  if (at < 0) throw new Error(`key ${from} not found`);
  pkl.write(to, at + 5, 'utf8');
}

/** A copy of the reference checkpoint folder in `dir` whose model.pt is edited by `edit`. */
export async function editedFixture(dir: string, edit: (pkl: Buffer) => void): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const f of ['config.yaml', 'tokens.txt']) await copyFile(join(FIXTURE, f), join(dir, f));
  await writeFile(join(dir, 'model.pt'), patchPickle(await readFile(join(FIXTURE, 'model.pt')), edit));
  return dir;
}
