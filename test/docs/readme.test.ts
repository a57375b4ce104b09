/**
 * The README stays a front door (at most 250 lines), and every relative link in README.md and
 * docs/**.md points to a file that exists (anchors are not checked, only the file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** Relative link targets of a Markdown document: [text](target) and ![alt](target), without anchors. */
export function relativeLinks(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  const targets: string[] = [];
  for (const m of withoutCode.matchAll(/!?\[[^\]]*\]\(\s*(?:<([^>\n]+)>|([^)\s]+))(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1] ?? m[2];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // https:, mailto:, in-page anchors
    targets.push(decodeURIComponent(target.split('#')[0]));
  }
  return targets;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), ...docs];
}

test('README.md is at most 250 lines', () => {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length;
  assert.ok(lines <= 250, `README.md has ${lines} lines; move details to docs/`);
});

test('relativeLinks finds relative links and skips URLs, anchors and code', () => {
  const md = 'See [a](docs/a.md#x), ![p](img/p.png), [b](https://x.org/b.md), [c](#here),\n`[d](nope.md)` and\n```\n[e](nope2.md)\n```\n[f](<with space.md>)';
  assert.deepEqual(relativeLinks(md), ['docs/a.md', 'img/p.png', 'with space.md']);
});

test('every relative link in README.md and docs/ points to an existing file', () => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    for (const target of relativeLinks(readFileSync(file, 'utf8'))) {
      if (!existsSync(join(dirname(file), target))) broken.push(`${relative(ROOT, file)} → ${target}`);
    }
  }
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});
