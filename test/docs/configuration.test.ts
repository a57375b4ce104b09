/**
 * docs/configuration.md holds one table of every environment variable; this test compares it with
 * the variables the code under src/ reads (every .ts file, walked recursively, so files may move).
 * It fails naming the variables missing on either side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const NAME = '[A-Z][A-Z0-9_]*';

/** Drops whole-line comments and JSDoc lines, so that a name mentioned in prose is not "read". */
function stripComments(source: string): string {
  return source
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .map((line) => line.replace(/(^|\s)\/\/\s.*$/, '$1'))
    .join('\n');
}

/** The environment variable names one TypeScript source reads. */
export function envNamesInSource(source: string): Set<string> {
  const code = stripComments(source);
  const names = new Set<string>();
  // env.NAME, process.env.NAME, options.env?.NAME, childEnv.NAME — but not an assignment to it.
  for (const m of code.matchAll(new RegExp(`[A-Za-z_$]*[eE]nv\\??\\.(${NAME})\\b(?!\\s*=[^=])`, 'g'))) names.add(m[1]!);
  // env['NAME'], env["NAME"], env[`NAME`]
  for (const m of code.matchAll(new RegExp(`[eE]nv\\??\\.?\\[\\s*['"\`](${NAME})['"\`]\\s*\\]`, 'g'))) names.add(m[1]!);
  // Any helper that takes the environment and the name: readSecret(env, 'NAME'), numberFromEnv(env, 'NAME', …), …
  for (const m of code.matchAll(new RegExp(`\\b([A-Za-z_$][\\w$]*)\\(\\s*[\\w$.]*[eE]nv\\w*\\s*,\\s*['"\`](${NAME})['"\`]`, 'g'))) {
    names.add(m[2]!);
    if (m[1] === 'readSecret') names.add(`${m[2]}_FILE`); // readSecret falls back to NAME_FILE
  }
  // ['A', 'B'].some((name) => env[name] …)
  const list = new RegExp(`\\[((?:\\s*['"]${NAME}['"]\\s*,?)+)\\]\\s*\\.\\w+\\(\\s*\\(?\\s*(\\w+)\\s*\\)?\\s*=>[^;]*?[eE]nv\\??\\.?\\[\\s*\\2\\s*\\]`, 'g');
  for (const m of code.matchAll(list)) for (const n of m[1]!.matchAll(new RegExp(`['"](${NAME})['"]`, 'g'))) names.add(n[1]!);
  return names;
}

/** Every variable read under src/. */
export function envNamesInCode(srcDir = join(ROOT, 'src')): Set<string> {
  const names = new Set<string>();
  for (const file of readdirSync(srcDir, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    for (const n of envNamesInSource(readFileSync(join(srcDir, file), 'utf8'))) names.add(n);
  }
  return names;
}

/** The names in the first column of the tables of a Markdown document (backticked, UPPER_SNAKE). */
export function envNamesInDoc(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|') || /^\|\s*-/.test(line)) continue;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(new RegExp(`\`(${NAME})\``, 'g'))) names.add(m[1]!);
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
  const source = [
    "const a = env.ALPHA?.trim();",
    "const b = process.env.BRAVO;",
    "const c = options.env?.CHARLIE;",
    "const d = env['DELTA'];",
    "const e = readSecret(env, 'ECHO');",
    "const f = numberFromEnv(options.env, 'FOXTROT', 3, { min: 1 });",
    "const g = integerFromEnv(env, \"GOLF\", 1, 1, 9);",
    "const h = ['HOTEL', 'HOTEL_FILE'].some((name) => Boolean(env[name]?.trim()));",
    "childEnv.INDIA = 'x';",
    "// env.JULIET is only mentioned",
    " * process.env.KILO in a JSDoc line",
    "const l = env.LIMA === '0'; // and env.MIKE in a trailing comment",
  ].join('\n');
  assert.deepEqual([...envNamesInSource(source)].sort(), ['ALPHA', 'BRAVO', 'CHARLIE', 'DELTA', 'ECHO', 'ECHO_FILE', 'FOXTROT', 'GOLF', 'HOTEL', 'HOTEL_FILE', 'LIMA']);
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
  const code = envNamesInCode();
  assert.ok(code.size >= 40, `only ${code.size} variables found under src/: the extractor has lost its way`);
  const problems = compare(code, envNamesInDoc(markdown));
  assert.deepEqual(problems, [], problems.join('\n'));
});
