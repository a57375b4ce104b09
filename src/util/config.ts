/**
 * Configuration from the environment, read in one place. Secrets come from `NAME` or from the
 * file named by `NAME_FILE` (Docker/Kubernetes secrets) and are registered for log redaction.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { VoicemoodError } from '../domain/errors.ts';
import { registerSecret } from './log.ts';

export type Env = Record<string, string | undefined>;

/** Reads a secret from NAME or from the file named by NAME_FILE; registers it for redaction. */
export function readSecret(env: Env, name: string): string | undefined {
  let value = env[name]?.trim();
  const file = env[`${name}_FILE`];
  if (!value && file) {
    try {
      value = readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new VoicemoodError('bad_input', `${name}_FILE names ${file}, which cannot be read.`, { cause: e });
    }
  }
  registerSecret(value);
  return value || undefined;
}

/** Default data folder: VOICEMOOD_DATA_DIR, else ./data next to where voicemood runs. */
export function dataDir(env: Env = process.env): string {
  return resolve(env.VOICEMOOD_DATA_DIR ?? join(process.cwd(), 'data'));
}

/** Where converted models and downloads live: VOICEMOOD_MODELS_DIR, else ./models (gitignored). */
export function modelsDir(env: Env = process.env): string {
  return resolve(env.VOICEMOOD_MODELS_DIR ?? join(process.cwd(), 'models'));
}

/** Cache for things that can be rebuilt (optimised sessions). */
export function cacheDir(env: Env = process.env): string {
  return resolve(env.VOICEMOOD_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'voicemood'));
}

export function numberFromEnv(env: Env, name: string, fallback: number, bounds: { min?: number; max?: number } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || (bounds.min !== undefined && n < bounds.min) || (bounds.max !== undefined && n > bounds.max)) {
    throw new VoicemoodError(
      'bad_input',
      `${name}=${raw} is not a valid number${bounds.min !== undefined ? ` (min ${bounds.min})` : ''}${bounds.max !== undefined ? ` (max ${bounds.max})` : ''}.`,
    );
  }
  return n;
}
