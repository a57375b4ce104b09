/**
 * The local (convolutional) feature encoder, run over the waveform in time chunks by an ONNX Loop.
 *
 * Why chunks: its first layers hold the biggest activations of the whole network, and they grow
 * with clip length × batch rows. For one 15 s clip the first conv's output alone is 48 000 frames
 * × 512 channels (98 MB of float32), with several tensors that size alive at once; in chunks of
 * CHUNK_FRAMES frames per row, peak memory is set by the chunk and the batch rows, whatever the
 * clip's length.
 *
 * Exact, not an approximation: chunk i makes output frames [i C, (i + 1) C) from samples
 * [i C S, i C S + (C − 1) S + R) (S = total stride, 320; R = receptive field, 400). Every chunk
 * starts at a multiple of each layer's cumulative stride, so its windows are the whole clip's
 * windows. With int8 the activation ranges are taken per chunk and row instead of per clip
 * (as precise or more); the chunk size is therefore fixed, not derived from the batch, so that a
 * row is cut into the same chunks alone or batched with any other rows.
 */
import { AUDIO, receptiveField, samplesPerFrame, type Emotion2vecArch } from './arch.ts';
import { attr } from '../onnx/graph.ts';
import type { Layers } from './layers.ts';

/**
 * Output frames per row per Loop iteration (1.28 s of audio): small enough that a full batch's
 * chunk stays small, big enough that the products run at full speed. Measured in `npm run bench`
 * (README, "Speed").
 */
export const CHUNK_FRAMES = 64;

/** torch's Conv1d output length, floor((len − k) / s) + 1, clamped at 0 (int64 scalar or vector). */
function convLength(L: Layers, len: string, k: number, s: number): string {
  const g = L.g;
  return g.op('Max', [g.op('Div', [g.op('Add', [len, L.int(s - k)]), L.int(s)]), L.int(0)]);
}

/**
 * Waveform x [B, N] (padding already zero) and row lengths [B] → features [B, T, C_out]
 * (time-major) and each row's frame count [B], T = frames of N samples.
 */
export function localEncoder(L: Layers, arch: Emotion2vecArch, x: string, lengths: string, chunkFrames = CHUNK_FRAMES): { feats: string; frameLen: string } {
  if (!Number.isInteger(chunkFrames) || chunkFrames < 1) throw new RangeError(`chunk frames must be a positive integer, got ${chunkFrames}`);
  const g = L.g;
  const S = samplesPerFrame(arch);
  const R = receptiveField(arch);
  const cout = arch.convSpec[arch.convSpec.length - 1][0];
  const framesOf = (len: string) => arch.convSpec.reduce((t, [, k, s]) => convLength(L, t, k, s), len);

  // Chunking plan (int64 scalars): M chunks of C frames; one chunk of T frames when T ≤ chunkFrames.
  const N = L.dim(x, 1);
  const T = framesOf(N);
  const C = g.op('Max', [g.op('Min', [T, L.int(chunkFrames)]), L.int(1)]);
  const M = g.op('Max', [L.ceilDiv(T, C), L.int(1)]); // ≥ 1: a Loop's outputs need an iteration
  const step = g.op('Mul', [C, L.int(S)]); // samples between chunk starts
  const span = g.op('Add', [step, L.int(R - S)]); // samples one chunk reads
  // Zeros after the clip so that the last chunk is whole: M C frames need M step + R − S samples.
  const needed = g.op('Add', [g.op('Mul', [M, step]), L.int(R - S)]);
  const padRight = g.op('Max', [g.op('Sub', [needed, N]), L.int(0)]);
  const padded = g.op('Pad', [x, g.op('Concat', [L.ints([0, 0, 0]), g.op('Unsqueeze', [padRight, L.ints([0])])], { axis: 0 })]);

  const body = g.subgraph(
    'local_encoder_chunk',
    [
      { name: 'chunk', dataType: 'INT64', dims: [] },
      { name: 'cond_in', dataType: 'BOOL', dims: [] },
    ],
    ([chunk, condIn]) => {
      const start = g.op('Mul', [chunk, step]);
      const startV = g.op('Unsqueeze', [start, L.ints([0])]);
      const wave = g.op('Slice', [padded, startV, g.op('Add', [startV, g.op('Unsqueeze', [span, L.ints([0])])]), L.ints([1])]);
      // Each row's real samples in this chunk (0 for a row that ended before it).
      let frameLen = g.op('Min', [g.op('Max', [g.op('Sub', [lengths, start]), L.int(0)]), span]);
      let feats = g.op('Unsqueeze', [wave, L.ints([2])]); // [B, span, 1]
      let cin = 1;
      arch.convSpec.forEach(([c, k, s], i) => {
        const prefix = `${AUDIO}.local_encoder.conv_layers.${i}`;
        // Real input positions, for int8 activation ranges (the first layer, on the waveform, stays fp32).
        const inMask = L.quantizes(`${prefix}.0.weight`) ? g.op('Unsqueeze', [L.lengthMask(frameLen, L.dim(feats, 1)).float, L.ints([2])]) : undefined;
        const conv = L.conv1dTimeMajor(feats, `${prefix}.0.weight`, cin, c, k, s, inMask);
        feats = L.gelu(L.layerNorm(conv, `${prefix}.2.1`, c, 1e-5)); // torch's default eps, not norm_eps
        frameLen = convLength(L, frameLen, k, s);
        cin = c;
      });
      return [
        { name: g.op('Identity', [condIn]), dataType: 'BOOL', dims: [] },
        { name: feats, dataType: 'FLOAT', dims: ['batch', 'chunk_frames', cout] },
      ];
    },
  );
  const stacked = g.op('Loop', [M, ''], { body: attr.graph(body) }); // [M, B, C, C_out]
  const joined = g.op('Reshape', [g.op('Transpose', [stacked], { perm: [1, 0, 2, 3] }), L.ints([0, -1, cout])]);
  const feats = g.op('Slice', [joined, L.ints([0]), g.op('Unsqueeze', [T, L.ints([0])]), L.ints([1])]);
  return { feats, frameLen: framesOf(lengths) };
}
