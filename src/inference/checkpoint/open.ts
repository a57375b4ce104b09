/**
 * openCheckpoint(dir): the one entry point for an official emotion2vec+ checkpoint folder
 * (model.pt, config.yaml, tokens.txt). Everything is validated when it opens; tensor values are
 * read later, one at a time.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VoicemoodError } from '../../domain/errors.ts';
import { parseEmotion2vecConfig, type Emotion2vecConfig } from './config.ts';
import { fileSource } from './source.ts';
import { readStateDict } from './stateDict.ts';
import type { LazyTensor } from './tensor.ts';
import { parseTokens, type CheckpointLabels } from './tokens.ts';
import { openZip } from './zip.ts';

export interface Checkpoint {
  /** The folder it was opened from. */
  readonly dir: string;
  readonly config: Emotion2vecConfig;
  readonly labels: CheckpointLabels;
  /** Every tensor of the state dict by name (unknown extra ones included; the converter ignores them). */
  readonly tensors: ReadonlyMap<string, LazyTensor>;
  /** sha256 (hex) of model.pt. */
  readonly sha256: string;
  /** Releases the file handle; tensors cannot be read afterwards. */
  close(): Promise<void>;
}

async function readText(dir: string, file: string): Promise<string> {
  try {
    return await readFile(join(dir, file), 'utf8');
  } catch (e) {
    throw notFound(dir, file, e);
  }
}

function notFound(dir: string, file: string, cause: unknown): VoicemoodError {
  const code = (cause as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new VoicemoodError('model_missing', `The checkpoint folder ${dir} has no ${file}.`, { cause });
  }
  return new VoicemoodError('model_invalid', `${file} in ${dir} cannot be read.`, { cause });
}

/** sha256 of a file, streamed so that a 2 GB checkpoint never sits in memory. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const config = parseEmotion2vecConfig(await readText(dir, 'config.yaml'));
  const labels = parseTokens(await readText(dir, 'tokens.txt'));
  const modelPath = join(dir, 'model.pt');
  let source;
  try {
    source = await fileSource(modelPath);
  } catch (e) {
    throw notFound(dir, 'model.pt', e);
  }
  try {
    const archive = await openZip(source);
    const [tensors, sha256] = await Promise.all([readStateDict(archive), sha256File(modelPath)]);
    return { dir, config, labels, tensors, sha256, close: () => archive.close() };
  } catch (e) {
    await source.close();
    throw e;
  }
}

/**
 * The tensor `key`, which must have exactly `shape`; otherwise VoicemoodError('checkpoint_mismatch')
 * naming the key and both shapes.
 */
export function expectTensor(checkpoint: Pick<Checkpoint, 'tensors'>, key: string, shape: readonly number[]): LazyTensor {
  const tensor = checkpoint.tensors.get(key);
  const want = `[${shape.join(', ')}]`;
  if (!tensor) {
    throw new VoicemoodError('checkpoint_mismatch', `model.pt has no tensor ${key} (expected shape ${want}): it is not the model its config.yaml describes.`, {
      details: { key, expected: [...shape], actual: null },
    });
  }
  if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
    throw new VoicemoodError(
      'checkpoint_mismatch',
      `model.pt has ${key} with shape [${tensor.shape.join(', ')}] where config.yaml implies ${want}: they do not belong together.`,
      { details: { key, expected: [...shape], actual: [...tensor.shape] } },
    );
  }
  return tensor;
}
