/**
 * Finds the audio files among command-line inputs: files are taken as given (the bytes decide
 * their format), folders are walked recursively for audio extensions, in sorted order.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

export const AUDIO_EXTENSIONS: ReadonlySet<string> = new Set([
  '.wav',
  '.wave',
  '.mp3',
  '.m4a',
  '.aac',
  '.flac',
  '.ogg',
  '.oga',
  '.opus',
  '.webm',
  '.weba',
  '.mp4',
  '.m4v',
  '.mov',
  '.mkv',
  '.mka',
  '.aif',
  '.aiff',
  '.amr',
  '.caf',
  '.3gp',
]);

export function isAudioName(name: string): boolean {
  return AUDIO_EXTENSIONS.has(extname(name).toLowerCase());
}

export interface InputList {
  /** Files to analyse, in order: each argument in turn, a folder's files sorted by path. */
  files: string[];
  /** Arguments that do not exist (reported as failures, the batch goes on). */
  missing: string[];
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue; // hidden files and folders (.git, .DS_Store)
    const path = join(dir, e.name);
    // Symlinked folders are not followed: no cycles, no surprises.
    if (e.isDirectory()) await walk(path, out);
    else if (e.isFile() && isAudioName(e.name)) out.push(path);
  }
}

export async function collectInputs(args: readonly string[]): Promise<InputList> {
  const files: string[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  const add = (p: string) => {
    const key = resolve(p);
    if (!seen.has(key)) {
      seen.add(key);
      files.push(p);
    }
  };
  for (const arg of args) {
    let info;
    try {
      info = await stat(arg);
    } catch {
      missing.push(arg);
      continue;
    }
    if (info.isDirectory()) {
      const found: string[] = [];
      await walk(arg, found);
      found.forEach(add);
    } else add(arg);
  }
  return { files, missing };
}
