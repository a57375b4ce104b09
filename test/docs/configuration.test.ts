/**
 * docs/configuration.md holds one table of every environment variable; this test compares it with
 * the variables the code under src/ reads (every .ts file, walked recursively, so files may move).
 * It fails naming the variables missing on either side, and on any read of the environment whose
 * name it cannot see (env[someVariable] outside a helper that takes the name as a string).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const NAME = '[A-Z][A-Z0-9_]*';
/** An expression that is the environment: env, process.env, options.env, childEnv, … */
const ENV = '(?:[A-Za-z_$][\\w$]*\\.)*[\\w$]*[eE]nv';

/** Drops whole-line comments and JSDoc lines, so that a name mentioned in prose is not "read". */
function stripComments(source: string): string {
  return source
    .split('\n')
    .map((line) => (/^\s*(\/\/|\/\*|\*)/.test(line) ? '' : line.replace(/(^|\s)\/\/\s.*$/, '$1')))
    .join('\n');
}

interface Helper {
  /** What the helper reads besides NAME itself, e.g. `_FILE` for env[`${name}_FILE`]. */
  suffixes: string[];
  /** Where its body is, as [file index, start, end) in the stripped sources. */
  body: [number, number, number];
}

/**
 * The helpers that take the environment and a variable's name — `function f(env: Env, name: string, …)`
 * and read env[name] — with the suffixed names their body also reads.
 */
function findHelpers(sources: string[]): Map<string, Helper> {
  const helpers = new Map<string, Helper>();
  sources.forEach((code, i) => {
    for (const m of code.matchAll(/function\s+(\w+)\s*\(\s*\w*[eE]nv\w*\s*[?]?:\s*[\w.]+\s*,\s*(\w+)\s*:\s*string/g)) {
      const start = m.index;
      const close = code.indexOf('\n}', start);
      const end = close === -1 ? code.length : close;
      const body = code.slice(start, end);
      if (!new RegExp(`[eE]nv\\??\\.?\\[\\s*${m[2]}\\s*\\]`).test(body)) continue; // takes a string, but not a variable's name
      const suffixes = [...body.matchAll(new RegExp(`[eE]nv\\??\\.?\\[\\s*\`\\$\\{${m[2]}\\}([A-Z0-9_]+)\`\\s*\\]`, 'g'))].map((s) => s[1]);
      helpers.set(m[1], { suffixes, body: [i, start, end] });
    }
  });
  return helpers;
}

/** The variables a set of TypeScript sources reads, and the reads whose name cannot be seen. */
export function envNamesIn(rawSources: string[]): { names: Set<string>; problems: string[] } {
  const sources = rawSources.map(stripComments);
  const helpers = findHelpers(sources);
  const names = new Set<string>();
  const problems: string[] = [];
  const listRead = new RegExp(`\\[((?:\\s*['"]${NAME}['"]\\s*,?)+)\\]\\s*\\.\\w+\\(\\s*\\(?\\s*(\\w+)\\s*\\)?\\s*=>[^;]*?[eE]nv\\??\\.?\\[\\s*\\2\\s*\\]`, 'g');
  sources.forEach((code, i) => {
    // env.NAME, process.env.NAME, options.env?.NAME — but not an assignment to it.
    for (const m of code.matchAll(new RegExp(`${ENV}\\??\\.(${NAME})\\b(?!\\s*=[^=>])`, 'g'))) names.add(m[1]);
    // env['NAME'], env["NAME"], env[`NAME`]
    for (const m of code.matchAll(new RegExp(`${ENV}\\??\\.?\\[\\s*['"\`](${NAME})['"\`]\\s*\\]`, 'g'))) names.add(m[1]);
    // const { NAME } = env
    for (const m of code.matchAll(new RegExp(`\\{([^{}]*)\\}\\s*=\\s*${ENV}\\b`, 'g'))) {
      for (const n of m[1].matchAll(new RegExp(`(?:^|[\\s,])(${NAME})\\b`, 'g'))) names.add(n[1]);
    }
    // ['A', 'B'].some((name) => env[name] …)
    const lists: Array<[number, number]> = [];
    for (const m of code.matchAll(listRead)) {
      lists.push([m.index, m.index + m[0].length]);
      for (const n of m[1].matchAll(new RegExp(`['"](${NAME})['"]`, 'g'))) names.add(n[1]);
    }
    // Calls of the helpers: readSecret(env, 'NAME') also reads NAME_FILE, numberFromEnv(env, 'NAME', …), …
    for (const [helper, { suffixes, body }] of helpers) {
      for (const m of code.matchAll(new RegExp(`\\b${helper}\\(([^,()]*),\\s*([^,)]*)`, 'g'))) {
        if (body[0] === i && m.index >= body[1] && m.index < body[2] && /function\s+$/.test(code.slice(Math.max(0, m.index - 20), m.index))) continue; // its definition
        const literal = new RegExp(`^['"\`](${NAME})['"\`]$`).exec(m[2].trim());
        if (!literal) {
          problems.push(`${helper}(${m[1]}, ${m[2]}) in source ${i}: the name is not a string literal`);
          continue;
        }
        names.add(literal[1]);
        for (const s of suffixes) names.add(`${literal[1]}${s}`);
      }
    }
    // Any other env[expression] is a read this test cannot name.
    for (const m of code.matchAll(new RegExp(`${ENV}\\??\\.?\\[\\s*(?!['"]${NAME}['"]\\s*\\])([^\\]]*)\\]`, 'g'))) {
      const at = m.index;
      const inHelper = [...helpers.values()].some(({ body }) => body[0] === i && at >= body[1] && at < body[2]);
      const inList = lists.some(([s, e]) => at >= s && at < e);
      if (!inHelper && !inList) problems.push(`${m[0]} in source ${i} (line ${code.slice(0, at).split('\n').length}): a read whose name this test cannot see`);
    }
  });
  return { names, problems };
}

function sourcesUnder(dir: string): { files: string[]; sources: string[] } {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .sort();
  return { files, sources: files.map((f) => readFileSync(join(dir, f), 'utf8')) };
}

/** The names in the first column of the tables of a Markdown document (backticked, UPPER_SNAKE). */
export function envNamesInDoc(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|') || /^\|\s*-/.test(line)) continue;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(new RegExp(`\`(${NAME})\``, 'g'))) names.add(m[1]);
  }
  return names;
}

export function compare(code: Set<string>, doc: Set<string>): string[] {
  const problems: string[] = [];
  const undocumented = [...code].filter((n) => !doc.has(n)).sort();
  const stale = [...doc].filter((n) => !code.has(n)).sort();
  if (undocumented.length) problems.push(`read under src/ but missing from docs/configuration.md: ${undocumented.join(', ')}`);
  if (stale.length) problems.push(`in docs/configuration.md but read nowhere under src/: ${stale.join(', ')}`);
  return problems;
}

test('the extractor finds every way this codebase reads a variable, and ignores comments and writes', () => {
  const helpers = [
    'export function readSecret(env: Env, name: string): string | undefined {',
    '  let value = env[name]?.trim();',
    '  const file = env[`${name}_FILE`];',
    '  return value;',
    '}',
    'function integerFromEnv(env: Env, name: string, fallback: number): number {',
    '  const raw = env[name]?.trim();',
    '  return raw ? Number(raw) : fallback;',
    '}',
  ].join('\n');
  const uses = [
    'const a = env.ALPHA?.trim();',
    'const b = process.env.BRAVO;',
    'const c = options.env?.CHARLIE;',
    "const d = env['DELTA'];",
    "const e = readSecret(env, 'ECHO');",
    'const g = integerFromEnv(options.env, "GOLF", 1);',
    "const h = ['HOTEL', 'HOTEL_FILE'].some((name) => Boolean(env[name]?.trim()));",
    'const { INDIA, juliet } = process.env;',
    "childEnv.KILO = 'x';",
    '// env.LIMA is only mentioned',
    ' * process.env.MIKE in a JSDoc line',
    "const n = env.NOVEMBER === '0'; // and env.OSCAR in a trailing comment",
  ].join('\n');
  const { names, problems } = envNamesIn([helpers, uses]);
  assert.deepEqual([...names].sort(), ['ALPHA', 'BRAVO', 'CHARLIE', 'DELTA', 'ECHO', 'ECHO_FILE', 'GOLF', 'HOTEL', 'HOTEL_FILE', 'INDIA', 'NOVEMBER']);
  assert.deepEqual(problems, []);
});

test('a read whose name cannot be seen is reported, not ignored', () => {
  const { problems } = envNamesIn([
    'const key = pick();\nconst v = process.env[key];',
    'export function numberFromEnv(env: Env, name: string): number {\n  return Number(env[name]);\n}\nconst n = numberFromEnv(env, someName);',
  ]);
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.match(problems.join('\n'), /process\.env\[key\]/);
  assert.match(problems.join('\n'), /numberFromEnv\(env, someName\)/);
});

test('the comparison names what is missing on either side', () => {
  const doc = envNamesInDoc('| Variable | Default |\n|---|---|\n| `ALPHA` / `ALPHA_FILE` | – |\n| `STALE` | 1 |\n| **Section** | |\n');
  assert.deepEqual([...doc].sort(), ['ALPHA', 'ALPHA_FILE', 'STALE']);
  assert.deepEqual(compare(new Set(['ALPHA', 'ALPHA_FILE', 'NEW_ONE']), doc), [
    'read under src/ but missing from docs/configuration.md: NEW_ONE',
    'in docs/configuration.md but read nowhere under src/: STALE',
  ]);
  assert.deepEqual(compare(new Set(['ALPHA', 'ALPHA_FILE', 'STALE']), doc), []);
});

test('docs/configuration.md has one table, listing exactly the variables src/ reads', () => {
  const markdown = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
  const tables = markdown.split('\n').filter((line) => /^\|\s*-{3,}/.test(line)).length;
  assert.equal(tables, 1, `docs/configuration.md should hold one table of variables, not ${tables}`);
  const { files, sources } = sourcesUnder(join(ROOT, 'src'));
  const { names, problems } = envNamesIn(sources);
  const unreadable = problems.map((p) => p.replace(/source (\d+)/, (_, n: string) => `src/${files[Number(n)]}`));
  assert.deepEqual(unreadable, [], unreadable.join('\n'));
  assert.ok(names.size >= 40, `only ${names.size} variables found under src/: the extractor has lost its way`);
  const missing = compare(names, envNamesInDoc(markdown));
  assert.deepEqual(missing, [], missing.join('\n'));
});
