/**
 * Turns a model choice (VOICEMOOD_MODEL, --model) into an .onnx path on disk, pulling the
 * published model first when it is not in the models folder yet. A published model converted by
 * an older converter is converted again when its official files are still here (no download:
 * a newer graph can be faster or leaner, e.g. converter 3's chunked feature encoder); without
 * them the old file keeps serving.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { modelsDir as defaultModelsDir, type Env } from '../../util/config.ts';
import { CONVERTER_VERSION } from '../convert/version.ts';
import { checkpointDirFor, existingModelFile, isMirrorName, loadRegistry, onnxPathFor, parseModelSpec, type MirrorName } from '../modelStore.ts';
import { readModelMetadata } from '../onnx/metadata.ts';
import { pullModel, type PullOptions } from './pull.ts';
import type { PullProgress } from './events.ts';

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
  const mirror = env.VOICEMOOD_MODEL_MIRROR && isMirrorName(env.VOICEMOOD_MODEL_MIRROR) ? env.VOICEMOOD_MODEL_MIRROR : undefined;
  const present = existsSync(path);
  if (present && !(await reconvertible(path, root, spec.id, options.pull?.mirror ?? mirror ?? 'huggingface', options.pull?.revision))) return path;
  const pulling = pullModel({
    ...(mirror ? { mirror } : {}),
    ...options.pull,
    id: spec.id,
    quantization: spec.quantization,
    env,
    modelsDir: root,
    onProgress: options.onProgress,
  });
  if (!present) return (await pulling).onnxPath;
  try {
    return (await pulling).onnxPath;
  } catch (e) {
    // The old conversion still works: serve it rather than not start.
    options.onProgress?.({
      type: 'stage',
      text: `Could not convert ${spec.id} again with the current converter (${e instanceof Error ? e.message : String(e)}); using ${path} as it is.`,
    });
    return path;
  }
}

/** Whether `path` was made by an older converter and the official files it came from are all here. */
async function reconvertible(path: string, root: string, id: string, mirror: MirrorName, revision: string | undefined): Promise<boolean> {
  let version: string;
  try {
    version = (await readModelMetadata(path)).converterVersion;
  } catch {
    return false; // not readable as ours: leave it to the engine to say so
  }
  if (version === CONVERTER_VERSION) return false;
  const registry = loadRegistry();
  const dir = checkpointDirFor(root, id, revision ?? registry.mirrors[mirror].defaultRevision);
  return [...registry.files, 'download.json'].every((f) => existsSync(join(dir, f)));
}
