/** Test helpers: the reference fixture, .npy reading, running a model, error measures. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseWavHeader, samplesToFloat } from '../../src/audio/wav.ts';

export const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'emotion2vec-reference');

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
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) throw new Error(`${path}: expected little-endian float32 C order, got ${header}`);
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
