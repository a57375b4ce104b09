/**
 * Checks on downloaded official files that do not need a known sha256: config.yaml is YAML with a
 * model_conf, tokens.txt has labels, model.pt is a torch zip archive with a data.pkl.
 * (The converter reads model.pt fully afterwards and refuses anything else it finds.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { VoicemoodError } from '../../domain/errors.ts';
import { fileSource } from '../checkpoint/source.ts';
import { openZip } from '../checkpoint/zip.ts';

function bad(file: string, why: string, cause?: unknown): VoicemoodError {
  return new VoicemoodError(
    'download_failed',
    `The downloaded ${file} is not what an emotion2vec+ model publishes (${why}); it was removed. Run the command again, or try the other mirror.`,
    {
      cause,
      details: { file, why, discard: file },
    },
  );
}

export async function verifyConfig(dir: string): Promise<void> {
  let conf: unknown;
  try {
    conf = parseYaml(await readFile(join(dir, 'config.yaml'), 'utf8'));
  } catch (e) {
    throw bad('config.yaml', 'it is not YAML', e);
  }
  if (typeof conf !== 'object' || conf === null || typeof (conf as Record<string, unknown>).model_conf !== 'object') {
    throw bad('config.yaml', 'it has no model_conf section');
  }
}

export async function verifyTokens(dir: string): Promise<void> {
  const lines = (await readFile(join(dir, 'tokens.txt'), 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2 || lines.some((l) => l.length > 200)) throw bad('tokens.txt', 'it does not list labels one per line');
}

/** model.pt opens as a zip archive (zip64 included) holding `<root>/data.pkl`. */
export async function verifyTorchZip(dir: string): Promise<void> {
  const path = join(dir, 'model.pt');
  let source;
  try {
    source = await fileSource(path);
    const zip = await openZip(source);
    const names = [...zip.entries.keys()];
    if (!names.some((n) => n === 'data.pkl' || n.endsWith('/data.pkl'))) throw new Error('no data.pkl entry');
  } catch (e) {
    throw bad('model.pt', `it is not a PyTorch checkpoint archive: ${(e as Error).message}`, e);
  } finally {
    await source?.close();
  }
}
