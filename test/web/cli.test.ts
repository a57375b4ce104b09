/** `voicemood web` and `voicemood --version` as real processes (bin/voicemood.js), with the tiny model. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../helpers/tinyModel.ts';
import { fixture } from '../audio/helpers.ts';
import { freePort } from '../helpers/net.ts';

const BIN = new URL('../../bin/voicemood.js', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
let dir: string;
let model: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vm-webcli-'));
  model = join(dir, 'tiny.onnx');
  await writeTinyModel(model);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, NODE_ENV: 'test' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("--version prints package.json's version; web --help starts with its usage line", async () => {
  const v = await run(['--version']);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), VERSION);
  const help = await run(['web', '--help']);
  assert.equal(help.code, 0);
  assert.ok(help.stdout.startsWith('Usage: voicemood web'), help.stdout);
  assert.match(help.stdout, /--port/);
  assert.match(help.stdout, /--host/);
  assert.match(help.stdout, /--model/);
  const bad = await run(['web', '--port', 'eighty', '--model', model]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--port must be a whole number/);
});

test('voicemood web serves the API on --port and stops cleanly on SIGINT', async (t) => {
  const port = await freePort();
  const proc = spawn(process.execPath, [BIN, 'web', '--port', String(port), '--model', model], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, VOICEMOOD_ENGINE_OPT_CACHE: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => proc.kill('SIGKILL'));
  let out = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start line in time:\n${out}`)), 60_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (/web: serving/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stderr.on('data', onData);
    proc.stdout.on('data', onData);
    void exited.then((code) => reject(new Error(`exited with ${code}:\n${out}`)));
  });
  assert.match(out, new RegExp(`web: serving http://127\\.0\\.0\\.1:${port} `));
  const form = new FormData();
  form.append('file', new Blob([fixture('voice_telegram.ogg')]), 'voice.ogg');
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/analyze?granularity=frame`, { method: 'POST', body: form });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { format: string; frames: unknown[] };
  assert.equal(body.format, 'ogg/opus');
  assert.ok(body.frames.length > 0);
  proc.kill('SIGINT');
  assert.equal(await exited, 0, out);
  assert.match(out, /SIGINT: stopping/);
});
