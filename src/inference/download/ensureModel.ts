/**
 * Turns a model choice (VOICEMOOD_MODEL, --model) into an .onnx path on disk, pulling the
 * published model first when it is not in the models folder yet.
 */
import { existsSync } from 'node:fs';
import { modelsDir as defaultModelsDir, type Env } from '../../config.ts';
import { existingModelFile, isMirrorName, onnxPathFor, parseModelSpec } from '../modelStore.ts';
import { pullModel, type PullOptions } from './pull.ts';
import type { PullProgress } from './progress.ts';

export interface EnsureModelOptions {
  /** A published id (optionally ":int8") or a path; default VOICEMOOD_MODEL, then the default id. */
  model?: string;
  env?: Env;
  onProgress?: PullProgress;
  /** Passed through to pullModel (tests: base URL, converter, retries). */
  pull?: Partial<Omit<PullOptions, 'id' | 'env' | 'onProgress' | 'quantization'>>;
}

export async function ensureModel(options: EnsureModelOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const spec = parseModelSpec(options.model ?? env.VOICEMOOD_MODEL);
  if (spec.kind === 'path') return existingModelFile(spec.path);
  const root = options.pull?.modelsDir ?? defaultModelsDir(env);
  const path = onnxPathFor(root, spec.id, spec.quantization);
  if (existsSync(path)) return path;
  const mirror = env.VOICEMOOD_MODEL_MIRROR;
  const result = await pullModel({
    ...(mirror && isMirrorName(mirror) ? { mirror } : {}),
    ...options.pull,
    id: spec.id,
    quantization: spec.quantization,
    env,
    modelsDir: root,
    onProgress: options.onProgress,
  });
  return result.onnxPath;
}
