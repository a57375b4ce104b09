/**
 * `voicemood web` in queue mode (VOICEMOOD_QUEUE_URL): the web process loads no model and its
 * analyses run on a `voicemood worker` through Redis, answering what the in-process engine answers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTinyModel } from '../helpers/tinyModel.ts';
import { analyzeVoice } from '../../src/usecases/analyzeVoice.ts';
import { Engine } from '../../src/inference/engine.ts';
import { freePort } from '../helpers/net.ts';
import { skipWithoutRedis, startRedis, type TestRedis } from '../helpers/redis.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');
const VOICE = readFileSync(join(ROOT, 'test/fixtures/telegram/voice-hello.ogg'));
let redis: TestRedis | undefined;
let dir = '';
let modelPath = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicemood-queue-web-'));
  modelPath = join(dir, 'tiny.onnx');
  await writeTinyModel(modelPath, { seed: 5 });
  if (!skipWithoutRedis) redis = await startRedis();
});
after(() => {
  redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function spawnCli(args: string[], env: Record<string, string>) {
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, VOICEMOOD_ENGINE_OPT_CACHE: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const waitFor = async (re: RegExp, ms = 60_000): Promise<void> => {
    const until = Date.now() + ms;
    while (!re.test(out)) {
      if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode} before ${re}:\n${out}`);
      if (Date.now() > until) throw new Error(`no ${re} within ${ms} ms:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { proc, exited, waitFor, output: () => out };
}

test(
  'voicemood web with VOICEMOOD_QUEUE_URL: no model in the web process, the worker answers, same result as in-process',
  { skip: skipWithoutRedis, timeout: 120_000 },
  async (t) => {
    const queue = { VOICEMOOD_QUEUE_URL: redis!.url, VOICEMOOD_MODEL: modelPath, VOICEMOOD_ENGINE_THREADS: '1' };
    const worker = spawnCli(['worker'], queue);
    t.after(() => worker.proc.kill('SIGKILL'));
    const port = await freePort();
    // The web process is given no VOICEMOOD_MODEL: in queue mode it needs none.
    const web = spawnCli(['web', '--port', String(port)], { VOICEMOOD_QUEUE_URL: redis!.url });
    t.after(() => web.proc.kill('SIGKILL'));
    await web.waitFor(/web: serving http:\/\/127\.0\.0\.1:\d+/);
    await worker.waitFor(/./, 60_000);

    // The worker may still be loading its model: the first answers can be 'busy' or a stand-in; retry a while.
    let body: { emotion?: string; confidence?: number; model?: string; error?: string } = {};
    let status = 0;
    for (let i = 0; i < 120; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/analyze`, { method: 'POST', body: VOICE });
      status = r.status;
      body = (await r.json()) as typeof body;
      if (status === 200) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    assert.equal(status, 200, JSON.stringify(body));
    const engine = await Engine.open(modelPath, { threads: 1, optimizedCacheDir: false });
    try {
      const local = await analyzeVoice(engine, VOICE);
      assert.equal(body.emotion, local.emotion);
      assert.ok(Math.abs((body.confidence ?? 0) - local.confidence) < 1e-4, `${body.confidence} vs ${local.confidence}`);
      assert.equal(body.model, local.model, "the web process names the workers' model");
    } finally {
      await engine.close();
    }
    web.proc.kill('SIGTERM');
    assert.equal(await web.exited, 0);
    worker.proc.kill('SIGTERM');
    assert.equal(await worker.exited, 0);
  },
);

/** The value of one series in Prometheus text, or undefined when it is absent. */
function series(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    const at = line.lastIndexOf(' ');
    if (!line.startsWith('#') && line.slice(0, at) === name) return Number(line.slice(at + 1));
  }
  return undefined;
}

test(
  '/metrics of a worker (PORT) and of a queue-mode web process after one job: inference time, queue wait, web analyses',
  { skip: skipWithoutRedis, timeout: 120_000 },
  async (t) => {
    const workerPort = await freePort();
    const worker = spawnCli(['worker'], {
      VOICEMOOD_QUEUE_URL: redis!.url,
      VOICEMOOD_MODEL: modelPath,
      VOICEMOOD_ENGINE_THREADS: '1',
      PORT: String(workerPort),
    });
    t.after(() => worker.proc.kill('SIGKILL'));
    await worker.waitFor(/serving \/healthz and \/metrics on http:\/\/127\.0\.0\.1:\d+/);
    const workerBase = `http://127.0.0.1:${workerPort}`;
    const before = await (await fetch(`${workerBase}/metrics`)).text();
    assert.equal(series(before, 'voicemood_inference_seconds_count'), 0);
    const health = (await (await fetch(`${workerBase}/healthz`)).json()) as { ok: boolean; role: string; model: string; queue: { connected: boolean } };
    assert.equal(health.ok, true);
    assert.equal(health.role, 'worker');
    assert.equal(health.queue.connected, true);
    assert.equal((await fetch(`${workerBase}/api/v1/openapi.json`)).status, 404, 'a worker serves no API');

    const port = await freePort();
    const web = spawnCli(['web', '--port', String(port)], { VOICEMOOD_QUEUE_URL: redis!.url });
    t.after(() => web.proc.kill('SIGKILL'));
    await web.waitFor(/web: serving http:\/\/127\.0\.0\.1:\d+/);
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/analyze`, { method: 'POST', body: VOICE });
    assert.equal(r.status, 200, await r.clone().text());

    const text = await (await fetch(`${workerBase}/metrics`)).text();
    assert.equal(series(text, 'voicemood_inference_seconds_count'), 1, text);
    assert.equal(series(text, 'voicemood_inference_clips_total'), 1);
    assert.equal(series(text, 'voicemood_queue_wait_seconds_count'), 1);
    assert.equal(series(text, 'voicemood_queue_jobs_total{outcome="completed"}'), 1);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
    const webText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.equal(series(webText, 'voicemood_analyses_total{platform="web",outcome="ok"}'), 1, webText);
    assert.equal(series(webText, 'voicemood_queue_job_seconds_count{outcome="completed"}'), 1);
    assert.equal(series(webText, 'voicemood_inference_seconds_count'), 0, 'no model runs in the web process');

    web.proc.kill('SIGTERM');
    assert.equal(await web.exited, 0);
    worker.proc.kill('SIGTERM');
    assert.equal(await worker.exited, 0);
  },
);
