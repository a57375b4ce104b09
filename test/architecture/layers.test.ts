/**
 * The layers of src/ (docs/architecture.md): every import points down, never up, and packages of
 * one layer import each other only where listed here. Fails naming each climbing import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** Lowest first. A package may import any package of a lower layer. */
export const LAYERS: readonly { name: string; packages: readonly string[] }[] = [
  { name: 'domain', packages: ['domain'] },
  { name: 'support', packages: ['util'] },
  { name: 'infrastructure', packages: ['audio', 'inference', 'history', 'state', 'queue'] },
  { name: 'use cases', packages: ['usecases'] },
  { name: 'presentation', packages: ['render'] },
  { name: 'commands', packages: ['commands'] },
  { name: 'adapters', packages: ['bots/telegram', 'bots/discord', 'web'] },
  { name: 'entry points', packages: ['cli', 'services.ts', 'main.ts'] },
];

/** The only imports allowed between two packages of the same layer. */
const SIDEWAYS: ReadonlySet<string> = new Set([
  // The queue engine is an EmotionEngine that runs the inference layer's contract on workers.
  'queue -> inference',
  // Entry points compose everything: `voicemood start` is src/main.ts, which builds src/services.ts,
  // and the composition root draws the model pull's progress with the CLI's terminal reporter.
  'cli -> main.ts',
  'cli -> services.ts',
  'main.ts -> services.ts',
  'services.ts -> cli',
]);

function packageOf(file: string): string {
  const rel = relative(SRC, file).split('\\').join('/');
  if (rel.startsWith('bots/')) return rel.split('/').slice(0, 2).join('/');
  return rel.split('/')[0];
}

function rankOf(pkg: string): number {
  const i = LAYERS.findIndex((l) => l.packages.includes(pkg));
  assert.notEqual(i, -1, `src/${pkg} belongs to no layer: add it to LAYERS in this test and to docs/architecture.md`);
  return i;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)(['"`])(\.{1,2}\/[^'"`$]*)/g;

/** Every relative import of every file under src/, as [from, to] file paths. */
export function importsOf(files: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const target = normalize(join(dirname(f), m[2]));
      if (target.startsWith(SRC)) out.push([f, target]);
    }
  }
  return out;
}

export function violations(edges: readonly [string, string][]): string[] {
  const bad: string[] = [];
  for (const [from, to] of edges) {
    const a = packageOf(from);
    const b = packageOf(to);
    if (a === b) continue;
    const ra = rankOf(a);
    const rb = rankOf(b);
    if (rb < ra) continue;
    if (rb === ra && SIDEWAYS.has(`${a} -> ${b}`)) continue;
    bad.push(`${relative(ROOT, from)} imports ${relative(ROOT, to)} (${LAYERS[ra].name}: ${a} -> ${rb === ra ? 'sideways' : LAYERS[rb].name}: ${b})`);
  }
  return bad;
}

test('no import in src/ climbs to a higher layer or goes sideways unlisted', () => {
  const bad = violations(importsOf(sourceFiles(SRC)));
  assert.deepEqual(bad, [], `climbing imports:\n${bad.join('\n')}`);
});

test('src/domain imports nothing of ours outside src/domain', () => {
  const files = sourceFiles(join(SRC, 'domain'));
  const outside = importsOf(files).filter(([, to]) => !to.startsWith(join(SRC, 'domain')));
  assert.deepEqual(outside, []);
  for (const f of files) assert.doesNotMatch(readFileSync(f, 'utf8'), /from ['"](?!\.)(?!node:)/, `${relative(ROOT, f)} imports a package`);
});

test('the checker catches a climbing import and a sideways one', () => {
  const at = (p: string) => join(SRC, p);
  assert.equal(violations([[at('audio/x.ts'), at('usecases/y.ts')]]).length, 1);
  assert.equal(violations([[at('audio/x.ts'), at('history/y.ts')]]).length, 1);
  assert.equal(violations([[at('bots/telegram/x.ts'), at('bots/discord/y.ts')]]).length, 1);
  assert.equal(violations([[at('queue/x.ts'), at('inference/y.ts')]]).length, 0);
  assert.equal(violations([[at('usecases/x.ts'), at('domain/y.ts')]]).length, 0);
});
