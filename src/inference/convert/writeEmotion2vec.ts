/**
 * Builds the emotion2vec graph for an architecture and writes it with its voicemood metadata:
 * the one path shared by the checkpoint converter and the random tiny model.
 */
import { metadataProps } from '../onnx/metadata.ts';
import type { WriteProgress } from '../onnx/writer.ts';
import { writeModel } from '../onnx/writer.ts';
import type { ModelMetadata } from '../types.ts';
import { SAMPLE_RATE } from '../../domain/audio.ts';
import type { Emotion2vecArch } from './arch.ts';
import { samplesPerFrame } from './arch.ts';
import { buildEmotion2vecGraph } from './emotion2vecGraph.ts';
import type { WeightSource } from './layers.ts';
import { CONVERTER_VERSION } from './version.ts';

export type Quantization = ModelMetadata['quantization'];

export interface WriteEmotion2vecOptions {
  labelsEn: string[];
  labelsZh: string[];
  sourceModel: string;
  sourceRevision: string;
  checkpointSha256: string;
  /** fp32 (default) or int8 (dynamically quantized linear layers and feature-encoder convs, see layers.ts). */
  quantization?: Quantization;
  /** Frames per row per local-encoder chunk (localEncoder.ts); the default suits serving, other values are for tests and measurements. */
  chunkFrames?: number;
  /** Queries per attention block (attention.ts); likewise. */
  queryBlock?: number;
  onProgress?: (p: WriteProgress) => void;
}

export interface WrittenModel {
  path: string;
  bytes: number;
  tensors: number;
  metadata: ModelMetadata;
}

export function emotion2vecMetadata(arch: Emotion2vecArch, o: WriteEmotion2vecOptions): ModelMetadata {
  return {
    labelsEn: o.labelsEn,
    labelsZh: o.labelsZh,
    sampleRate: SAMPLE_RATE,
    frameRate: SAMPLE_RATE / samplesPerFrame(arch),
    embedDim: arch.embedDim,
    sourceModel: o.sourceModel,
    sourceRevision: o.sourceRevision,
    checkpointSha256: o.checkpointSha256,
    converterVersion: CONVERTER_VERSION,
    quantization: o.quantization ?? 'fp32',
    convSpec: arch.convSpec.map((l) => [...l] as [number, number, number]),
  };
}

export async function writeEmotion2vec(path: string, arch: Emotion2vecArch, src: WeightSource, o: WriteEmotion2vecOptions): Promise<WrittenModel> {
  const graph = buildEmotion2vecGraph(arch, src, { quantization: o.quantization ?? 'fp32', chunkFrames: o.chunkFrames, queryBlock: o.queryBlock });
  const metadata = emotion2vecMetadata(arch, o);
  const bytes = await writeModel(path, graph, {
    metadata: metadataProps(metadata),
    producerName: 'voicemood',
    producerVersion: CONVERTER_VERSION,
    docString: `emotion2vec graph converted by voicemood from ${o.sourceModel}`,
    onProgress: o.onProgress,
  });
  return { path, bytes, tensors: graph.initializers.length, metadata };
}
