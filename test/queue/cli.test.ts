/** `voicemood worker`: its help, and a clear sentence (exit 2) without VOICEMOOD_QUEUE_URL or with a wrong one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

test('voicemood worker --help starts with its usage line and names the variables', () => {
  const r = run(['worker', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^Usage: voicemood worker/);
  assert.match(r.stdout, /VOICEMOOD_QUEUE_URL/);
  assert.match(run(['--help']).stdout, /worker( \[options\])?\s+Run an inference worker/);
});

test('voicemood worker without a queue URL, or with a URL that is not Redis, says so and exits 2', () => {
  const none = run(['worker']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /Set VOICEMOOD_QUEUE_URL=redis:\/\/host:port/);
  const wrong = run(['worker'], { VOICEMOOD_QUEUE_URL: 'http://user:hunter2secret@example:1' });
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /VOICEMOOD_QUEUE_URL must start with redis:\/\//);
  assert.ok(!wrong.stderr.includes('hunter2secret'), 'the password leaked');
});

test('voicemood worker --port that is not a port: a sentence, exit 2', () => {
  const r = run(['worker', '--port', 'abc'], { VOICEMOOD_QUEUE_URL: 'redis://127.0.0.1:1' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--port or PORT\) must be a whole number/);
});
