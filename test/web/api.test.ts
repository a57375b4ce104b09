/**
 * The REST API over real HTTP on 127.0.0.1, with the tiny random-weight model: the same JSON as the
 * CLI for raw and multipart bodies, frames and embeddings, every error status (400/415/422, 413
 * while streaming, 401, 429 with Retry-After, 503), the OpenAPI document, /healthz and /metrics.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { decodeAudio } from '../../src/audio/decode.ts';
import { EMOTIONS } from '../../src/domain/emotions.ts';
import type { EmotionEngine } from '../../src/inference/types.ts';
import type { WebServer } from '../../src/web/server.ts';
import { fixture, fixturePath, makeWav } from '../audio/helpers.ts';
import { makeWebWorkspace, serve, type WebWorkspace } from './helpers.ts';

let ws: WebWorkspace;
let server: WebServer;

before(async () => {
  ws = await makeWebWorkspace();
  server = await serve(ws.engine);
});
after(async () => {
  await server?.close();
  await ws?.cleanup();
});

type Json = Record<string, unknown>;

async function post(
  srv: WebServer,
  query: string,
  body: Uint8Array | FormData | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await fetch(`${srv.url}/api/v1/analyze${query}`, { method: 'POST', body, headers });
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch {
    assert.fail(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
  return { status: res.status, json, headers: res.headers };
}

function multipart(bytes: Uint8Array, name: string, field = 'file'): FormData {
  const form = new FormData();
  form.append('note', 'an extra text field is ignored');
  form.append(field, new Blob([bytes]), name);
  return form;
}

/** `voicemood analyze --json` on the same file, with the same model. */
function cliJson(file: string, args: string[] = []): Promise<Json> {
  const bin = new URL('../../bin/voicemood.js', import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, 'analyze', '--model', ws.modelPath, '--json', '--out', join(ws.dir, 'out'), ...args, file],
      { env: { ...process.env, VOICEMOOD_ENGINE_OPT_CACHE: '0', NODE_ENV: 'test' }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(JSON.parse(stdout) as Json)),
    );
  });
}

const withoutVolatile = (o: Json, drop: string[] = []): Json =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !['timestamp', 'input', 'output_dir', 'label', ...drop].includes(k)));

test('raw body and multipart answer the same JSON as the CLI for the same file', async () => {
  const bytes = fixture('voice_telegram.ogg');
  const cli = await cliJson(fixturePath('voice_telegram.ogg'));
  const raw = await post(server, '', bytes, { 'content-type': 'audio/ogg' });
  assert.equal(raw.status, 200, JSON.stringify(raw.json));
  const form = await post(server, '', multipart(bytes, 'voice.ogg'));
  assert.equal(form.status, 200, JSON.stringify(form.json));
  assert.deepEqual(Object.keys(withoutVolatile(raw.json)), Object.keys(withoutVolatile(cli)));
  assert.deepEqual(withoutVolatile(raw.json), withoutVolatile(cli));
  assert.deepEqual(withoutVolatile(form.json), withoutVolatile(cli));
  assert.equal(raw.json.format, 'ogg/opus');
  assert.equal(raw.json.granularity, 'utterance');
  assert.ok(!Number.isNaN(Date.parse(String(raw.json.timestamp))));
  assert.deepEqual(Object.keys(raw.json.scores as Json), [...EMOTIONS]);
  assert.equal(
    raw.json.label,
    {
      angry: 'Angry',
      disgusted: 'Disgusted',
      fearful: 'Fearful',
      happy: 'Happy',
      neutral: 'Neutral',
      other: 'Other',
      sad: 'Sad',
      surprised: 'Surprised',
      unknown: 'Unknown',
    }[String(raw.json.emotion)],
  );
  assert.equal('embedding' in raw.json, false);
  assert.equal('frames' in raw.json, false);
});

test('any Content-Type (or none) is taken as audio; the bytes decide the format', async () => {
  const bytes = fixture('speech.flac');
  const asJson = await post(server, '?lang=zh', bytes, { 'content-type': 'application/json' });
  assert.equal(asJson.status, 200, JSON.stringify(asJson.json));
  assert.equal(asJson.json.format, 'flac');
  assert.match(String(asJson.json.label), /\p{Script=Han}/u);
  const plain = await post(server, '', fixture('speech_16k_pcm24.wav'), { 'content-type': 'text/plain' });
  assert.equal(plain.status, 200, JSON.stringify(plain.json));
  assert.equal(plain.json.format, 'wav/pcm24');
});

test('raw bodies of every common format answer at their true durations', async () => {
  const files = ['speech.webm', 'speech.m4a', 'voice_telegram.ogg', 'speech_16k_pcm24.wav', 'videonote.mp4', 'speech.flac', 'speech.mp3'];
  for (const name of files) {
    const expected = await decodeAudio(fixture(name), { filename: name });
    const r = await post(server, '', fixture(name));
    assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.format, expected.format, name);
    assert.ok(Math.abs(Number(r.json.duration_s) - expected.durationS) < 0.002, `${name}: ${String(r.json.duration_s)} s, decoded ${expected.durationS} s`);
    assert.ok(expected.durationS > 0.5, name);
  }
});

test('frame granularity with embedding: one entry per frame and a [T][D] embedding; utterance embedding is [D]', async () => {
  const bytes = fixture('speech_16k_pcm16.wav');
  const cli = await cliJson(fixturePath('speech_16k_pcm16.wav'), ['--granularity', 'frame', '--embedding']);
  const r = await post(server, '?granularity=frame&embedding=true', bytes);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const frames = r.json.frames as { time: number; emotion: string; scores: Json }[];
  assert.ok(frames.length > 10);
  assert.ok(Math.abs(frames.length - Number(r.json.duration_s) * 50) <= 2, `${frames.length} frames for ${String(r.json.duration_s)} s`);
  for (const f of frames) assert.deepEqual(Object.keys(f.scores), [...EMOTIONS]);
  const emb = r.json.embedding as number[][];
  assert.equal(emb.length, frames.length);
  assert.ok(emb[0].length > 0 && emb.every((row) => row.length === emb[0].length && row.every(Number.isFinite)));
  assert.deepEqual(withoutVolatile(r.json), withoutVolatile(cli));
  assert.deepEqual(emb, cli.embedding);

  const u = await post(server, '?embedding=true', bytes);
  assert.equal(u.status, 200);
  const vec = u.json.embedding as number[];
  assert.equal(vec.length, emb[0].length);
  assert.ok(vec.every((x) => typeof x === 'number'));
});

test('unreadable, empty, too short and silent audio and bad queries: typed JSON errors 415/400/422', async () => {
  const cases: { body: Uint8Array | FormData; query?: string; status: number; code: string }[] = [
    { body: fixture('broken/random.wav'), status: 415, code: 'undecodable' },
    { body: fixture('broken/wrong_magic.ogg'), status: 415, code: 'undecodable' },
    { body: new Uint8Array(0), status: 400, code: 'bad_input' },
    { body: fixture('voice_tiny_0.2s.ogg'), status: 422, code: 'too_short' },
    { body: makeWav([new Float32Array(32_000)], 16_000, 's16'), status: 422, code: 'silent' },
    { body: fixture('speech.mp3'), query: '?granularity=sentence', status: 400, code: 'bad_input' },
    { body: fixture('speech.mp3'), query: '?lang=fr', status: 400, code: 'bad_input' },
    { body: multipart(fixture('speech.mp3'), 'a.mp3', 'audio'), status: 400, code: 'bad_input' },
  ];
  for (const c of cases) {
    const r = await post(server, c.query ?? '', c.body);
    assert.equal(r.status, c.status, `${c.code}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.code, c.code);
    assert.equal(typeof r.json.error, 'string');
    assert.ok(String(r.json.error).length > 10);
    assert.doesNotMatch(String(r.json.error), /\/tmp|\/work|at .*\.ts:\d+|FST_/);
  }
});

/** Streams zeros with chunked encoding until the server answers; resolves with the status and how much was sent. */
function streamUntilAnswered(
  url: string,
  capBytes: number,
  path = '/api/v1/analyze',
  headers: Record<string, string> = {},
): Promise<{ status: number; sent: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const u = new URL(url);
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'POST', headers: { 'content-type': 'application/octet-stream', ...headers } });
    const chunk = Buffer.alloc(64 * 1024);
    let sent = 0;
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sent, body, ms: Date.now() - started }));
      res.on('error', reject);
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const pump = (): void => {
      while (!answered && sent < capBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

test('413 for a body over the limit, refused while it streams in (chunked, no Content-Length) and up front (Content-Length)', async () => {
  const small = await serve(ws.engine, { VOICEMOOD_AUDIO_MAX_MB: '1' });
  try {
    const cap = 512 * 1024 * 1024;
    const r = await streamUntilAnswered(small.url, cap);
    assert.equal(r.status, 413, r.body);
    assert.equal((JSON.parse(r.body) as Json).code, 'too_large');
    assert.match(String((JSON.parse(r.body) as Json).error), /1 MB/);
    assert.ok(r.sent < 64 * 1024 * 1024, `sent ${r.sent} bytes before the answer`);

    // A declared 60 MB body is refused before any of it is read.
    const declared = await new Promise<number>((resolve, reject) => {
      const u = new URL(small.url);
      const req = httpRequest(
        { host: u.hostname, port: u.port, path: '/api/v1/analyze', method: 'POST', headers: { 'content-length': String(60 * 1024 * 1024) } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    assert.equal(declared, 413);

    // Multipart: the file part is cut off at the limit as well.
    const big = new Uint8Array(3 * 1024 * 1024);
    const m = await post(small, '', multipart(big, 'big.wav'));
    assert.equal(m.status, 413);
    assert.equal(m.json.code, 'too_large');

    // The server is still fine afterwards.
    assert.equal((await post(small, '', fixture('speech.mp3'))).status, 200);
  } finally {
    await small.close();
  }
});

test('API keys: 401 without or with a wrong key, 200 with one of the keys', async () => {
  const keyed = await serve(ws.engine, { VOICEMOOD_API_KEYS: 'first-key-123, second-key-456' });
  try {
    const none = await post(keyed, '', fixture('speech.mp3'));
    assert.equal(none.status, 401);
    assert.equal(none.json.code, 'unauthorized');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await post(keyed, '', fixture('speech.mp3'), { authorization: 'Bearer nope' })).status, 401);
    assert.equal((await post(keyed, '', fixture('speech.mp3'), { authorization: 'Bearer second-key-456' })).status, 200);
    const doc = (await (await fetch(`${keyed.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, { post: { security?: unknown[] } }> };
    assert.deepEqual(doc.paths['/api/v1/analyze'].post.security, [{ bearer: [] }]);
  } finally {
    await keyed.close();
  }
});

test('429 with Retry-After: per-address rate limit, and an engine that is full', async () => {
  const limited = await serve(ws.engine, { VOICEMOOD_RATE_API_PER_MIN: '2' });
  try {
    assert.equal((await post(limited, '', fixture('speech.mp3'))).status, 200);
    assert.equal((await post(limited, '', fixture('broken/random.wav'))).status, 415); // refused audio still costs a token
    const third = await post(limited, '', fixture('speech.mp3'));
    assert.equal(third.status, 429);
    assert.equal(third.json.code, 'rate_limited');
    const retry = Number(third.headers.get('retry-after'));
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, String(retry));
  } finally {
    await limited.close();
  }

  const full: EmotionEngine = {
    model: ws.engine.model,
    analyze: (s, o) => ws.engine.analyze(s, o),
    load: () => ({ inFlight: 3, queued: 5, capacity: 8 }),
    close: async () => {},
  };
  const busy = await serve(full);
  try {
    const r = await post(busy, '', fixture('speech.mp3'));
    assert.equal(r.status, 429);
    assert.equal(r.json.code, 'busy');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
  } finally {
    await busy.close();
  }
});

test('503 when no model is loaded, on the API and /healthz', async () => {
  const empty = await serve(undefined);
  try {
    const r = await post(empty, '', fixture('speech.mp3'));
    assert.equal(r.status, 503);
    assert.equal(r.json.code, 'model_missing');
    assert.equal((await fetch(`${empty.url}/healthz`)).status, 503);
  } finally {
    await empty.close();
  }
});

test('openapi.json is OpenAPI 3.1 and describes the analyze path; /healthz and /metrics', async () => {
  const doc = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { openapi: string; paths: Record<string, Json> };
  assert.match(doc.openapi, /^3\.1\./);
  assert.ok(doc.paths['/api/v1/analyze']?.post);

  const health = (await (await fetch(`${server.url}/healthz`)).json()) as Json;
  assert.equal(health.ok, true);
  assert.equal(health.model, ws.engine.model.id);

  const metrics = await fetch(`${server.url}/metrics`);
  assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
  const text = await metrics.text();
  assert.match(text, /voicemood_analyses_total\{platform="web",outcome="ok"\} [1-9]/);
  assert.match(text, /voicemood_analyses_total\{platform="web",outcome="undecodable"\} [1-9]/);
  assert.match(text, /voicemood_analysis_seconds_count\{platform="web"\} [1-9]/);
  assert.match(text, /voicemood_event_loop_lag_seconds\{stat="p99"\}/);

  const missing = await fetch(`${server.url}/api/v2/nothing`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as Json).code, 'not_found');
});

test('the page and its files are served by us, with a CSP that allows no other origin', async () => {
  const page = await fetch(`${server.url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  const html = await page.text();
  assert.match(html, /<script type="module" src="\/app\/app.js">/);
  assert.doesNotMatch(html, /https?:\/\//);
  const js = await fetch(`${server.url}/app/app.js`);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  const config = (await (await fetch(`${server.url}/app/config.json`)).json()) as { emotions: { id: string; label: { zh: string } }[] };
  assert.deepEqual(
    config.emotions.map((e) => e.id),
    [...EMOTIONS],
  );
  assert.equal(config.emotions[0].label.zh, '生气');
  const off = await serve(ws.engine, {}, { page: false });
  try {
    assert.equal((await fetch(`${off.url}/`)).status, 404);
  } finally {
    await off.close();
  }
});

test('closing the server lets an analysis in flight finish and answer', async () => {
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const slow: EmotionEngine = {
    model: ws.engine.model,
    load: () => ws.engine.load(),
    close: async () => {},
    async analyze(samples, options) {
      entered();
      await gate;
      return ws.engine.analyze(samples, options);
    },
  };
  const srv = await serve(slow);
  const answer = post(srv, '', fixture('speech.mp3'));
  await inside;
  const closed = srv.close();
  release();
  const r = await answer;
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.headers.get('connection'), 'close');
  // Not held open by the keep-alive connection (Fastify's keepAliveTimeout is 72 s).
  const started = Date.now();
  await closed;
  assert.ok(Date.now() - started < 30_000);
});
