/**
 * Random-weight emotion2vec models for tests and benchmarks, built with the SAME graph builder as
 * the checkpoint converter (so they have the real graph contract and real voicemood metadata).
 *
 * API
 *   writeTinyModel(path, options?) → Promise<WrittenModel>   ({ path, bytes, tensors, metadata })
 *     Writes an .onnx file. Deterministic: the same options give the same bytes.
 *     Default: D=32, H=2, depth 1, prenet 1, 16 conv channels, the published conv spec shape
 *     (320 samples per frame → 50 frames/s; the receptive field is 400 samples, so the shortest
 *     input giving one frame is 400 samples), 10 extra tokens, the 9 emotion2vec+ labels.
 *     Builds in well under a second (~175 KB).
 *   TINY_MODEL_SIZES.base / .large: the real sizes, for benchmarks (random weights, ~370 MB /
 *     ~1.2 GB fp32; building them takes seconds to a minute).
 *   options: { embedDim, numHeads, depth, prenetDepth, convChannels, numExtraTokens, convPosGroups,
 *     convPosWidth, alibiScalePerLayer, seed, quantization ('fp32' | 'int8'),
 *     labelMask (true = an `unuse*` label forced to -inf), sourceModel }
 *   Build times measured on a 2-core box: tiny ~0.1 s, base ~5 s, large ~20 s.
 *   tinyArch(options) → the Emotion2vecArch it builds (e.g. frameCount(tinyArch(), samples)).
 *
 *   const { path } = await writeTinyModel(join(tmpdir(), 'tiny.onnx'));
 *   const session = await ort.InferenceSession.create(path);   // inputs waveform, lengths
 */
import { createHash } from 'node:crypto';
import { EMOTIONS, EMOTION_LABELS } from '../../src/domain/emotions.ts';
import type { Emotion2vecArch } from '../../src/inference/convert/arch.ts';
import type { WeightSource } from '../../src/inference/convert/layers.ts';
import type { WrittenModel } from '../../src/inference/convert/writeEmotion2vec.ts';
import { writeEmotion2vec } from '../../src/inference/convert/writeEmotion2vec.ts';
import { mulberry32 } from './prng.ts';

export interface TinyModelOptions {
  embedDim?: number;
  numHeads?: number;
  depth?: number;
  prenetDepth?: number;
  /** Channels of every local-encoder conv layer. */
  convChannels?: number;
  numExtraTokens?: number;
  /** One learned ALiBi scale row per block (else one shared row, as in the published models). */
  alibiScalePerLayer?: boolean;
  /** conv_pos_groups (must divide embedDim; default min(16, embedDim)). */
  convPosGroups?: number;
  /** conv_pos_width (default 95: kernel 95 // 5 = 19). */
  convPosWidth?: number;
  seed?: number;
  /** fp32 (default) or int8 (dynamically quantized linear layers and feature-encoder convs, as `model convert --quantize int8`). */
  quantization?: 'fp32' | 'int8';
  /** Frames per row per local-encoder chunk (default: the converter's, see localEncoder.ts). */
  chunkFrames?: number;
  /** Queries per attention block (default: the converter's, see attention.ts). */
  queryBlock?: number;
  /** One entry per label (9 by default); true masks that label like an `unuse*` one. */
  labelMask?: boolean[];
  sourceModel?: string;
}

export const TINY_MODEL_SIZES = {
  tiny: { embedDim: 32, numHeads: 2, depth: 1, prenetDepth: 1, convChannels: 16 },
  /** emotion2vec_plus_base. */
  base: { embedDim: 768, numHeads: 12, depth: 8, prenetDepth: 4, convChannels: 512 },
  /** emotion2vec_plus_large as data2vec 2.0 large (24 blocks: 8 pre-net + 16 main, ~300 M parameters). */
  large: { embedDim: 1024, numHeads: 16, depth: 16, prenetDepth: 8, convChannels: 512 },
} as const satisfies Record<string, TinyModelOptions>;

export function tinyArch(o: TinyModelOptions = {}): Emotion2vecArch {
  const s = TINY_MODEL_SIZES.tiny;
  const C = o.convChannels ?? s.convChannels;
  const D = o.embedDim ?? s.embedDim;
  const prenetDepth = o.prenetDepth ?? s.prenetDepth;
  const depth = o.depth ?? s.depth;
  return {
    embedDim: D,
    numHeads: o.numHeads ?? s.numHeads,
    depth,
    prenetDepth,
    mlpRatio: 4,
    normEps: 1e-5,
    normalize: true,
    convSpec: [
      [C, 10, 5],
      [C, 3, 2],
      [C, 3, 2],
      [C, 3, 2],
      [C, 3, 2],
      [C, 2, 2],
      [C, 2, 2],
    ],
    convPosWidth: o.convPosWidth ?? 95,
    convPosDepth: 5,
    convPosGroups: o.convPosGroups ?? Math.min(16, D),
    numExtraTokens: o.numExtraTokens ?? 10,
    alibiScaleLayers: o.alibiScalePerLayer ? prenetDepth + depth : 1,
    alibiScalePerHead: true,
    labelMask: o.labelMask ?? EMOTIONS.map(() => false),
  };
}

function keySeed(seed: number, key: string): number {
  return createHash('sha256').update(`${seed}:${key}`).digest().readUInt32LE(0);
}

/** Plausible random values per tensor kind: unit-ish norms, small biases, fan-in scaled weights. */
export function randomWeights(seed: number): WeightSource {
  return {
    tensor(key, shape) {
      return async () => {
        const n = shape.reduce((a, b) => a * b, 1);
        const rnd = mulberry32(keySeed(seed, key));
        const u = () => rnd() * 2 - 1;
        const out = new Float32Array(n);
        const isNorm = /(norm\d?|\.2\.1|project_features\.1)\.weight$/.test(key);
        if (key.endsWith('alibi_scale')) for (let i = 0; i < n; i++) out[i] = 0.5 + rnd();
        else if (key.endsWith('extra_tokens')) for (let i = 0; i < n; i++) out[i] = 0.5 * u();
        else if (isNorm) for (let i = 0; i < n; i++) out[i] = 1 + 0.2 * u();
        else if (key.endsWith('.bias')) for (let i = 0; i < n; i++) out[i] = 0.1 * u();
        else {
          const fanIn = n / shape[0];
          const bound = Math.sqrt(3 / fanIn);
          for (let i = 0; i < n; i++) out[i] = bound * u();
        }
        return out;
      };
    },
  };
}

/** Writes a deterministic random-weight emotion2vec model to `path`. */
export async function writeTinyModel(path: string, options: TinyModelOptions = {}): Promise<WrittenModel> {
  const arch = tinyArch(options);
  const seed = options.seed ?? 1;
  const labelsEn: string[] = EMOTIONS.slice(0, arch.labelMask.length);
  while (labelsEn.length < arch.labelMask.length) labelsEn.push(`unuse_${labelsEn.length}`);
  const labelsZh = labelsEn.map((l) => (l in EMOTION_LABELS.zh ? EMOTION_LABELS.zh[l as keyof typeof EMOTION_LABELS.zh] : l));
  const quantization = options.quantization ?? 'fp32';
  const id = createHash('sha256').update(JSON.stringify({ arch, seed })).digest('hex');
  return writeEmotion2vec(path, arch, randomWeights(seed), {
    labelsEn,
    labelsZh,
    sourceModel: options.sourceModel ?? 'tiny-random',
    sourceRevision: `seed-${seed}`,
    checkpointSha256: id,
    quantization,
    chunkFrames: options.chunkFrames,
    queryBlock: options.queryBlock,
  });
}
