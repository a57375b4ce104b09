/**
 * convertCheckpoint(dir, outPath, options): an official emotion2vec(+) checkpoint folder
 * (model.pt, config.yaml, tokens.txt) → one .onnx file with voicemood metadata.
 *
 * Every tensor the graph needs is looked up and shape-checked while the graph is built, i.e.
 * before a byte is written (missing / mis-shaped → VoicemoodError 'checkpoint_mismatch' naming
 * the key and both shapes); unknown extra tensors (decoder, EMA copies) are ignored. Tensor
 * values are then streamed from model.pt into the file one at a time.
 */
import { VoicemoodError } from '../../domain/errors.ts';
import type { CheckpointLabels, Emotion2vecConfig } from '../checkpoint/index.ts';
import { expectTensor, openCheckpoint } from '../checkpoint/index.ts';
import type { WriteProgress } from '../onnx/writer.ts';
import type { Emotion2vecArch } from './arch.ts';
import { validateArch } from './arch.ts';
import type { WeightSource } from './layers.ts';
import type { Quantization, WrittenModel } from './writeEmotion2vec.ts';
import { writeEmotion2vec } from './writeEmotion2vec.ts';

export interface ConvertOptions {
  /** e.g. "emotion2vec_plus_base"; default "local". */
  sourceModel?: string;
  /** e.g. a git revision of the model repository; default "unknown". */
  sourceRevision?: string;
  /** fp32 (default) or int8: linear layers and feature-encoder convs dynamically quantized (about 3.5× smaller, ~2× faster, slightly less exact). */
  quantization?: Quantization;
  /** Frames per row per local-encoder chunk (tests and measurements; see localEncoder.ts). */
  chunkFrames?: number;
  /** Queries per attention block (tests and measurements; see attention.ts). */
  queryBlock?: number;
  onProgress?: (p: WriteProgress) => void;
}

function unsupported(what: string): VoicemoodError {
  return new VoicemoodError(
    'model_invalid',
    `This checkpoint uses ${what}, which the voicemood converter does not support (no published emotion2vec+ model does).`,
    {
      details: { unsupported: what },
    },
  );
}

/** The graph's architecture from config.yaml and tokens.txt; refuses variants we cannot build. */
export function archFromConfig(c: Emotion2vecConfig, labels: CheckpointLabels): Emotion2vecArch {
  if (c.layerNormFirst) throw unsupported('layer_norm_first: true');
  if (!c.useAlibiEncoder) throw unsupported('use_alibi_encoder: false');
  if (!c.learnedAlibiScale) throw unsupported('learned_alibi_scale: false');
  if (c.convPosPreLn) throw unsupported('conv_pos_pre_ln: true');
  if (c.numAlibiHeads !== c.numHeads) throw unsupported(`num_alibi_heads (${c.numAlibiHeads}) different from num_heads (${c.numHeads})`);
  const arch: Emotion2vecArch = {
    embedDim: c.embedDim,
    numHeads: c.numHeads,
    depth: c.depth,
    prenetDepth: c.prenetDepth,
    mlpRatio: c.mlpRatio,
    normEps: c.normEps,
    normalize: c.normalize,
    convSpec: c.featureEncoderSpec.map((l) => [l[0], l[1], l[2]]),
    convPosWidth: c.convPosWidth,
    convPosDepth: c.convPosDepth,
    convPosGroups: c.convPosGroups,
    numExtraTokens: c.numExtraTokens,
    alibiScaleLayers: c.learnedAlibiScalePerLayer ? c.prenetDepth + c.depth : 1,
    alibiScalePerHead: c.learnedAlibiScalePerHead,
    labelMask: [...labels.masked],
  };
  try {
    validateArch(arch);
  } catch (e) {
    throw new VoicemoodError('model_invalid', `config.yaml describes a model we cannot build: ${(e as Error).message}.`, { cause: e });
  }
  return arch;
}

export async function convertCheckpoint(dir: string, outPath: string, options: ConvertOptions = {}): Promise<WrittenModel> {
  const quantization = options.quantization ?? 'fp32';
  if (quantization !== 'fp32' && quantization !== 'int8') {
    throw new VoicemoodError('bad_input', `Unknown quantization "${String(quantization)}": use fp32 or int8.`);
  }
  const ckpt = await openCheckpoint(dir);
  try {
    const arch = archFromConfig(ckpt.config, ckpt.labels);
    const weights: WeightSource = {
      tensor(key, shape) {
        const t = expectTensor(ckpt, key, shape);
        return () => t.read();
      },
    };
    return await writeEmotion2vec(outPath, arch, weights, {
      labelsEn: ckpt.labels.en,
      labelsZh: ckpt.labels.zh,
      sourceModel: options.sourceModel ?? 'local',
      sourceRevision: options.sourceRevision ?? 'unknown',
      checkpointSha256: ckpt.sha256,
      quantization,
      chunkFrames: options.chunkFrames,
      queryBlock: options.queryBlock,
      onProgress: options.onProgress,
    });
  } finally {
    await ckpt.close();
  }
}
