/**
 * `model pull`: download the official files of a published model (resumable, verified), keep them
 * under <modelsDir>/<id>/<revision>/, and convert them to <modelsDir>/<id>.onnx.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modelsDir as defaultModelsDir, type Env } from '../../util/config.ts';
import { VoicemoodError } from '../../domain/errors.ts';
import { checkpointDirFor, fileUrl, isMirrorName, loadRegistry, mirrorEndpoint, onnxPathFor, type MirrorName, type Quantization } from '../modelStore.ts';
import { convertCheckpoint, type ConvertOptions } from '../convert/convertCheckpoint.ts';
import { CONVERTER_VERSION } from '../convert/version.ts';
import { readModelMetadata } from '../onnx/metadata.ts';
import { downloadFile } from './fetchFile.ts';
import { acquireLock } from './lock.ts';
import { sizeCapFor } from './urlPolicy.ts';
import type { PullProgress } from './events.ts';
import { verifyConfig, verifyTokens, verifyTorchZip } from './verify.ts';

/** Converts an official checkpoint folder into our .onnx (default: convertCheckpoint). */
export type ConvertFn = (checkpointDir: string, out: string, options: ConvertOptions) => Promise<unknown>;

export interface PullOptions {
  id: string;
  mirror?: MirrorName;
  /** Overrides the mirror's host (tests, proxies); also VOICEMOOD_HF_ENDPOINT. */
  baseUrl?: string;
  revision?: string;
  quantization?: Quantization;
  env?: Env;
  modelsDir?: string;
  onProgress?: PullProgress;
  signal?: AbortSignal;
  /** Download and convert again even when files are cached. */
  force?: boolean;
  retries?: number;
  backoffMs?: number;
  fetchImpl?: typeof fetch;
  /** The converter (default convertCheckpoint). */
  convert?: ConvertFn;
}

export interface PullResult {
  id: string;
  revision: string;
  checkpointDir: string;
  onnxPath: string;
  /** sha256 of each official file. */
  sha256: Record<string, string>;
  /** True when the .onnx was already there for this very checkpoint. */
  converted: boolean;
}

/** What we record beside the official files, so that later runs know they were verified. */
interface DownloadRecord {
  id: string;
  revision: string;
  mirror: MirrorName;
  files: Record<string, { url: string; bytes: number; sha256: string; serverSha256?: string }>;
  at: string;
}

export async function pullModel(options: PullOptions): Promise<PullResult> {
  const env = options.env ?? process.env;
  const registry = loadRegistry();
  const model = registry.models[options.id];
  if (!model) {
    throw new VoicemoodError('bad_input', `Unknown model "${options.id}". Published models: ${Object.keys(registry.models).join(', ')}.`);
  }
  const mirrorName = options.mirror ?? env.VOICEMOOD_MODEL_MIRROR ?? 'huggingface';
  if (!isMirrorName(mirrorName)) throw new VoicemoodError('bad_input', `Unknown mirror "${mirrorName}": use huggingface or modelscope.`);
  const mirror: MirrorName = mirrorName;
  const revision = options.revision ?? registry.mirrors[mirror].defaultRevision;
  const root = options.modelsDir ?? defaultModelsDir(env);
  const dir = checkpointDirFor(root, options.id, revision);
  const endpoint = mirrorEndpoint(mirror, env, options.baseUrl);
  const progress = options.onProgress ?? (() => undefined);
  const quantization = options.quantization ?? 'fp32';
  const onnxPath = onnxPathFor(root, options.id, quantization);

  await mkdir(root, { recursive: true });
  const lock = await acquireLock(join(root, `.${options.id}.pull.lock`), {
    signal: options.signal,
    onWait: () => progress({ type: 'stage', text: `Another voicemood process is pulling ${options.id}; waiting for it…` }),
  });
  try {
    return await pullLocked(options, { registry, mirror, revision, root, dir, endpoint, progress, quantization, onnxPath });
  } finally {
    await lock.release();
  }
}

interface PullPlan {
  registry: ReturnType<typeof loadRegistry>;
  mirror: MirrorName;
  revision: string;
  root: string;
  dir: string;
  endpoint: string;
  progress: PullProgress;
  quantization: Quantization;
  onnxPath: string;
}

async function pullLocked(options: PullOptions, plan: PullPlan): Promise<PullResult> {
  const { registry, mirror, revision, root, dir, endpoint, progress, quantization, onnxPath } = plan;
  const model = registry.models[options.id];
  const recordPath = join(dir, 'download.json');
  const record: DownloadRecord = (await readRecord(recordPath)) ?? { id: options.id, revision, mirror, files: {}, at: '' };
  progress({
    type: 'stage',
    text: `Pulling ${options.id} (revision ${revision}) from ${mirror === 'huggingface' ? 'Hugging Face' : 'ModelScope'} into ${dir}`,
  });
  for (const file of registry.files) {
    const dest = join(dir, file);
    const known = record.files[file];
    if (!options.force && known && existsSync(dest)) {
      progress({ type: 'file-done', file, bytes: known.bytes, resumedFrom: known.bytes, cached: true });
      continue;
    }
    if (options.force) await rm(dest, { force: true });
    const url = fileUrl({ mirror, endpoint, id: options.id, revision, file });
    const got = await downloadFile({
      url,
      dest,
      label: file,
      sha256: model.sha256[file],
      maxBytes: sizeCapFor(model.approxBytes?.[file]),
      retries: options.retries,
      backoffMs: options.backoffMs,
      signal: options.signal,
      fetchImpl: options.fetchImpl,
      onProgress: (p) => progress({ type: 'file', kind: 'download', file, received: p.received, total: p.total }),
      onRetry: (r) =>
        progress({ type: 'stage', text: `${file}: ${r.reason}; retrying in ${Math.ceil(r.delayMs / 1000)} s (attempt ${r.attempt + 1} of ${r.attempts})` }),
    });
    progress({ type: 'file-done', file, bytes: got.bytes, resumedFrom: got.resumedFrom, cached: false });
    // Verify each file as soon as it is here, so that a bad one is gone before the next starts.
    await verifyOrDiscard(dir, file);
    record.files[file] = { url, bytes: got.bytes, sha256: got.sha256, ...(got.serverSha256 ? { serverSha256: got.serverSha256 } : {}) };
    record.at = new Date().toISOString();
    await writeFile(recordPath, `${JSON.stringify(record, null, 2)}\n`);
  }

  const sha256 = Object.fromEntries(Object.entries(record.files).map(([f, r]) => [f, r.sha256]));
  if (!options.force && (await convertedFrom(onnxPath, sha256['model.pt'], quantization))) {
    progress({ type: 'stage', text: `${onnxPath} is up to date.` });
    return { id: options.id, revision, checkpointDir: dir, onnxPath, sha256, converted: true };
  }
  progress({ type: 'stage', text: `Converting ${options.id} to ONNX${quantization === 'int8' ? ' (int8)' : ''}…` });
  const convert = options.convert ?? convertCheckpoint;
  const tmp = `${onnxPath}.${process.pid}.tmp`;
  const label = onnxPath.slice(root.length + 1);
  try {
    await convert(dir, tmp, {
      sourceModel: options.id,
      sourceRevision: revision,
      quantization,
      onProgress: (p) => progress({ type: 'file', kind: 'convert', file: label, received: p.bytesWritten, total: p.bytesTotal }),
    });
    // The converted model must say it came from exactly what we downloaded.
    const meta = await readModelMetadata(tmp);
    if (meta.checkpointSha256 !== sha256['model.pt']) {
      throw new VoicemoodError(
        'internal',
        `The converted model records checkpoint sha256 ${meta.checkpointSha256}, not that of the downloaded model.pt (${sha256['model.pt']}).`,
      );
    }
    await rename(tmp, onnxPath);
  } catch (e) {
    throw await discardBadCheckpoint(e, dir, record, recordPath);
  } finally {
    await rm(tmp, { force: true });
  }
  progress({ type: 'stage', text: `Ready: ${onnxPath}` });
  return { id: options.id, revision, checkpointDir: dir, onnxPath, sha256, converted: false };
}

async function readRecord(path: string): Promise<DownloadRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as DownloadRecord;
  } catch {
    return undefined;
  }
}

async function verifyOrDiscard(dir: string, file: string): Promise<void> {
  try {
    if (file === 'config.yaml') await verifyConfig(dir);
    else if (file === 'tokens.txt') await verifyTokens(dir);
    else if (file === 'model.pt') await verifyTorchZip(dir);
  } catch (e) {
    await rm(join(dir, file), { force: true }); // never left in the cache as good
    throw e;
  }
}

/** Whether `onnxPath` exists and was converted from a model.pt with this sha256 by this converter. */
async function convertedFrom(onnxPath: string, checkpointSha: string | undefined, quantization: Quantization): Promise<boolean> {
  if (!checkpointSha || !existsSync(onnxPath)) return false;
  try {
    const meta = await readModelMetadata(onnxPath);
    return meta.checkpointSha256 === checkpointSha && meta.quantization === quantization && meta.converterVersion === CONVERTER_VERSION;
  } catch {
    return false; // not ours or damaged: convert again
  }
}

/**
 * A model.pt that opened as a zip but that the converter refuses (damaged pickle, tensors that do
 * not fit config.yaml, a forbidden global) is no good: it leaves the cache, so that the next pull
 * downloads it again instead of trusting it.
 */
async function discardBadCheckpoint(e: unknown, dir: string, record: DownloadRecord, recordPath: string): Promise<unknown> {
  if (!(e instanceof VoicemoodError) || !['model_invalid', 'checkpoint_mismatch', 'unsafe_checkpoint'].includes(e.code)) return e;
  await rm(join(dir, 'model.pt'), { force: true });
  delete record.files['model.pt'];
  await writeFile(recordPath, `${JSON.stringify(record, null, 2)}\n`);
  if (e.code === 'unsafe_checkpoint') return e; // say exactly why: it is a refusal, not a glitch
  return new VoicemoodError(
    'download_failed',
    `The downloaded model.pt cannot be converted (${e.message}); it was removed. Run the command again, or try the other mirror.`,
    {
      cause: e,
      details: { code: e.code },
    },
  );
}
