/**
 * The benchmark's random-weight models of the real sizes, built with our own graph builder (no
 * download) and cached under <cache>/bench/models. A cached file is reused only while the graph
 * code is unchanged: its name carries a hash of the builder's sources.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { TINY_MODEL_SIZES, writeTinyModel } from '../test/helpers/tinyModel.ts';

export type ModelSize = 'base' | 'large';
export type Quant = 'fp32' | 'int8';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'src', 'inference');

/** Hash of every source file the graph depends on. */
function graphCodeHash(): string {
  const h = createHash('sha256');
  const files = [
    ...['convert', 'onnx'].flatMap((d) =>
      readdirSync(join(SRC, d))
        .filter((f) => f.endsWith('.ts'))
        .sort()
        .map((f) => join(SRC, d, f)),
    ),
    join(ROOT, 'test', 'helpers', 'tinyModel.ts'),
  ];
  // Keyed by the path from the repository root ('/src/…', '/test/…'), so that a checkout anywhere hashes the same.
  for (const f of files) h.update(`/${relative(ROOT, f)}`).update(readFileSync(f));
  return h.digest('hex').slice(0, 12);
}

export interface BenchModel {
  size: ModelSize;
  quant: Quant;
  path: string;
  bytes: number;
  /** Seconds spent building it now (0 when it came from the cache). */
  buildS: number;
}

export async function ensureBenchModel(cache: string, size: ModelSize, quant: Quant): Promise<BenchModel> {
  const dir = join(cache, 'models');
  mkdirSync(dir, { recursive: true });
  const stem = `${size}-${quant}-`;
  const path = join(dir, `${stem}${graphCodeHash()}.onnx`);
  if (existsSync(path)) return { size, quant, path, bytes: readFileSync(path).byteLength, buildS: 0 };
  // Stale graph code: drop the old model and the optimised graphs the engine cached for it.
  for (const f of readdirSync(dir)) if (f.startsWith(stem)) rmSync(join(dir, f), { force: true });
  const optimized = join(cache, 'ort-optimized');
  if (existsSync(optimized)) for (const f of readdirSync(optimized)) if (f.startsWith(stem)) rmSync(join(optimized, f), { recursive: true, force: true });
  const t = performance.now();
  const m = await writeTinyModel(path, { ...TINY_MODEL_SIZES[size], quantization: quant, sourceModel: `bench-${size}` });
  return { size, quant, path, bytes: m.bytes, buildS: (performance.now() - t) / 1000 };
}
