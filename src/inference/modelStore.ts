/**
 * The model store: what the published models are (models/registry.json), where their files live
 * under the models folder, and how a `VOICEMOOD_MODEL` value becomes an .onnx path.
 *
 * Layout under modelsDir():
 *   <id>/<revision>/{model.pt,config.yaml,tokens.txt,download.json}   official files, verified
 *   <id>.onnx, <id>.int8.onnx                                          converted models
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Env } from '../util/config.ts';
import { VoicemoodError } from '../domain/errors.ts';
import { CONVERTER_VERSION } from './convert/version.ts';
import { checkStartUrl } from './download/urlPolicy.ts';
import type { ModelMetadata } from './types.ts';

export type MirrorName = 'huggingface' | 'modelscope';
export const MIRRORS: readonly MirrorName[] = ['huggingface', 'modelscope'];
export type Quantization = 'fp32' | 'int8';

export interface MirrorSpec {
  endpoint: string;
  /** e.g. "emotion2vec/{id}" */
  repo: string;
  /** URL template with {endpoint} {repo} {revision} {file}. */
  url: string;
  defaultRevision: string;
}

export interface PublishedModel {
  description: string;
  parameters: string;
  approxBytes: Record<string, number>;
  approxOnnxBytes: number;
  /** Known sha256 per file; empty where we have not checked one ourselves. */
  sha256: Record<string, string>;
}

export interface Registry {
  defaultModel: string;
  licence: { name: string; url: string; attribution: string };
  mirrors: Record<MirrorName, MirrorSpec>;
  files: string[];
  models: Record<string, PublishedModel>;
}

let cachedRegistry: Registry | undefined;

/** The registry shipped with voicemood (models/registry.json). */
export function loadRegistry(): Registry {
  cachedRegistry ??= JSON.parse(readFileSync(new URL('../../models/registry.json', import.meta.url), 'utf8')) as Registry;
  return cachedRegistry;
}

export function publishedIds(registry: Registry = loadRegistry()): string[] {
  return Object.keys(registry.models);
}

export function isMirrorName(s: string): s is MirrorName {
  return (MIRRORS as readonly string[]).includes(s);
}

/** A model choice: a published id (with its quantisation) or a path to a converted .onnx. */
export type ModelSpec = { kind: 'published'; id: string; quantization: Quantization } | { kind: 'path'; path: string };

/**
 * Reads a VOICEMOOD_MODEL / --model value. Anything that looks like a file path is a path;
 * otherwise it must be a published id, optionally followed by ":int8".
 */
export function parseModelSpec(value: string | undefined, registry: Registry = loadRegistry()): ModelSpec {
  const raw = (value ?? '').trim() || registry.defaultModel;
  if (raw.endsWith('.onnx') || raw.includes('/') || raw.includes('\\') || raw.startsWith('.')) {
    return { kind: 'path', path: resolve(raw) };
  }
  const [id, quant, ...rest] = raw.split(':');
  if (rest.length > 0 || (quant !== undefined && quant !== 'int8' && quant !== 'fp32')) {
    throw new VoicemoodError(
      'bad_input',
      `"${raw}" is not a model choice: use a published id such as ${registry.defaultModel} (optionally with ":int8") or a path to a converted .onnx file.`,
    );
  }
  if (!(id in registry.models)) {
    throw new VoicemoodError(
      'bad_input',
      `Unknown model "${id}". Published models: ${publishedIds(registry).join(', ')}; or give a path to a converted .onnx file.`,
    );
  }
  return { kind: 'published', id, quantization: quant === 'int8' ? 'int8' : 'fp32' };
}

/** Where the converted model of a published id lives. */
export function onnxPathFor(modelsDir: string, id: string, quantization: Quantization = 'fp32'): string {
  return join(modelsDir, quantization === 'int8' ? `${id}.int8.onnx` : `${id}.onnx`);
}

/** Where the official files of one revision are kept. */
export function checkpointDirFor(modelsDir: string, id: string, revision: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(revision) || revision === '.' || revision === '..') {
    throw new VoicemoodError('bad_input', `"${revision}" is not a valid revision (letters, digits, "." "_" "-" only).`);
  }
  return join(modelsDir, id, revision);
}

/** The download host: --base-url, else VOICEMOOD_HF_ENDPOINT (Hugging Face only), else the registry's. */
export function mirrorEndpoint(mirror: MirrorName, env: Env, baseUrl?: string, registry: Registry = loadRegistry()): string {
  const chosen = baseUrl ?? (mirror === 'huggingface' ? env.VOICEMOOD_HF_ENDPOINT : env.VOICEMOOD_MODELSCOPE_ENDPOINT) ?? registry.mirrors[mirror].endpoint;
  // https only; plain http only to this machine (a local mirror, the tests' file server).
  checkStartUrl(chosen, 'The base URL');
  return chosen.replace(/\/+$/, '');
}

/** The URL of one official file on a mirror. */
export function fileUrl(
  args: { mirror: MirrorName; endpoint: string; id: string; revision: string; file: string },
  registry: Registry = loadRegistry(),
): string {
  const spec = registry.mirrors[args.mirror];
  const repo = spec.repo.replace('{id}', args.id);
  return spec.url
    .replace('{endpoint}', args.endpoint)
    .replace('{repo}', repo)
    .replace('{revision}', encodeURIComponent(args.revision))
    .replace('{file}', encodeURIComponent(args.file));
}

export interface CachedModel {
  id: string;
  /** Converted files present, with sizes. */
  onnx: { path: string; quantization: Quantization; bytes: number }[];
  /** Revisions whose official files are all present. */
  revisions: { revision: string; path: string; bytes: number; complete: boolean }[];
}

/** What is in the models folder: every published id with a converted model or downloaded files. */
export function listCachedModels(modelsDir: string, registry: Registry = loadRegistry()): CachedModel[] {
  const out: CachedModel[] = [];
  for (const id of publishedIds(registry)) {
    const onnx: CachedModel['onnx'] = [];
    for (const q of ['fp32', 'int8'] as const) {
      const p = onnxPathFor(modelsDir, id, q);
      if (existsSync(p)) onnx.push({ path: p, quantization: q, bytes: statSync(p).size });
    }
    const revisions: CachedModel['revisions'] = [];
    const idDir = join(modelsDir, id);
    if (existsSync(idDir)) {
      for (const revision of readdirSync(idDir)) {
        const dir = join(idDir, revision);
        if (!statSync(dir).isDirectory()) continue;
        let bytes = 0;
        for (const f of readdirSync(dir)) bytes += statSync(join(dir, f)).size;
        const complete = registry.files.every((f) => existsSync(join(dir, f)));
        revisions.push({ revision, path: dir, bytes, complete });
      }
    }
    if (onnx.length > 0 || revisions.length > 0) out.push({ id, onnx, revisions });
  }
  return out;
}

/**
 * A sentence for the operator when `model` was converted by an older voicemood (published models
 * are converted again at start when their files are here; a model given by path never is).
 */
export function olderConverterNotice(model: Pick<ModelMetadata, 'converterVersion'> & { path: string }): string | undefined {
  if (model.converterVersion === CONVERTER_VERSION) return undefined;
  return `${model.path} was converted by an older voicemood (converter ${model.converterVersion}, now ${CONVERTER_VERSION}): it works, but converting it again (voicemood model convert, or model pull --force) gives the current graph, which needs much less memory for long clips.`;
}

/** Absolute path of a user-given model file, with a clear error when it is not there. */
export function existingModelFile(path: string): string {
  const abs = isAbsolute(path) ? path : resolve(path);
  if (!existsSync(abs)) {
    throw new VoicemoodError(
      'model_missing',
      `No model file at ${abs}. Convert one with \`voicemood model convert\` or choose a published model such as emotion2vec_plus_base.`,
    );
  }
  if (!statSync(abs).isFile()) throw new VoicemoodError('model_invalid', `${abs} is a folder, not an .onnx model file.`);
  return abs;
}
