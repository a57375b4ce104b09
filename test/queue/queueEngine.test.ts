/**
 * Queue mode in one process: a QueueEngine (gateway side) and a worker (startWorker) on a real
 * redis-server; answers match the in-process engine's, bad input fails once without retries, a
 * deep queue answers 'busy', nothing is left in Redis afterwards.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Engine } from '../../src/inference/engine.ts';
import { writeTinyModel } from '../helpers/tinyModel.ts';
import { QueueEngine, type JobReport } from '../../src/queue/queueEngine.ts';
import { startWorker, type RunningWorker } from '../../src/queue/worker.ts';
import { queueSettingsFromEnv, type QueueSettings } from '../../src/queue/config.ts';
import { decodeResult, encodeResult } from '../../src/queue/codec.ts';
import { createLogger } from '../../src/util/log.ts';
import { isVoicemoodError } from '../../src/domain/errors.ts';
import { mulberry32 } from '../helpers/prng.ts';
import { skipWithoutRedis, startRedis, type TestRedis } from '../helpers/redis.ts';

const logger = createLogger({ level: process.env.TEST_LOG ?? 'silent' });
let redis: TestRedis | undefined;
let dir = '';
let modelPath = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicemood-queue-'));
  modelPath = join(dir, 'tiny.onnx');
  await writeTinyModel(modelPath, { seed: 3 });
  if (!skipWithoutRedis) redis = await startRedis();
});
after(() => {
  redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function clip(seconds: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(Math.round(seconds * 16000));
  for (let i = 0; i < out.length; i++) out[i] = 0.3 * Math.sin(i / (8 + seed)) + 0.05 * (rnd() - 0.5);
  return out;
}

function settings(overrides: Partial<QueueSettings> = {}): QueueSettings {
  return { ...queueSettingsFromEnv({}, redis!.url), backoffMs: 10, ...overrides };
}

const openEngine = (): Promise<Engine> => Engine.open(modelPath, { threads: 1, optimizedCacheDir: false, batchWindowMs: 2 });

test('codec: a result survives the binary round trip (frame embeddings are not carried)', async () => {
  const engine = await openEngine();
  try {
    const r = await engine.analyze(clip(1.5, 1), { frames: true });
    const back = decodeResult(encodeResult(r));
    assert.deepEqual({ ...back, embedding: [...back.embedding], frames: undefined }, { ...r, embedding: [...r.embedding], frames: undefined });
    assert.deepEqual([...back.frames!.scores], [...r.frames!.scores]);
    assert.equal(back.frames!.count, r.frames!.count);
    assert.equal(back.frames!.dim, r.frames!.dim);
    assert.equal(back.frames!.embeddings, undefined);
    assert.throws(
      () => decodeResult(encodeResult(r).subarray(0, 40)),
      (e) => isVoicemoodError(e, 'internal'),
    );
  } finally {
    await engine.close();
  }
});

test(
  'queue: gateway + worker answer as the in-process engine, typed failures without retries, busy, nothing left behind',
  { skip: skipWithoutRedis, timeout: 120_000 },
  async () => {
    const local = await openEngine();
    const reports: JobReport[] = [];
    const gateway = await QueueEngine.open({ settings: settings(), logger, onJob: (r) => reports.push(r) });
    assert.match(gateway.model.id, /none has started/, 'no worker yet: a stand-in model');
    const attempts: string[] = [];
    const worker: RunningWorker = await startWorker({
      settings: settings(),
      engine: await openEngine(),
      logger,
      concurrency: 4,
      onJob: (r) => attempts.push(`${r.outcome}:${r.code ?? ''}`),
    });
    try {
      await gateway.refreshModel();
      assert.equal(gateway.model.id, local.model.id, "the gateway knows the workers' model without loading it");

      const clips = [clip(1, 1), clip(2.5, 2), clip(0.7, 3), clip(4, 4)];
      const [remote, expected] = await Promise.all([
        Promise.all(clips.map((c) => gateway.analyze(c, { frames: true }))),
        Promise.all(clips.map((c) => local.analyze(c, { frames: true }))),
      ]);
      remote.forEach((r, i) => {
        const e = expected[i];
        assert.equal(r.emotion, e.emotion);
        for (const k of Object.keys(e.scores) as (keyof typeof e.scores)[])
          assert.ok(Math.abs(r.scores[k] - e.scores[k]) < 1e-4, `${k}: ${r.scores[k]} vs ${e.scores[k]}`);
        assert.equal(r.frames!.count, e.frames!.count);
        assert.equal(r.durationS, e.durationS);
      });

      // Too short for the model: fails at once with the engine's own sentence, one attempt only.
      attempts.length = 0;
      await assert.rejects(gateway.analyze(new Float32Array(100)), (e) => isVoicemoodError(e, 'too_short') && /too short/.test(e.message));
      assert.deepEqual(attempts, ['failed:too_short']);
      await assert.rejects(gateway.analyze(new Float32Array([0, NaN, 0])), (e) => isVoicemoodError(e, 'bad_input'));

      // A deadline that passes while queued: the caller gets its reason, the job is removed.
      const ctl = new AbortController();
      const slow = gateway.analyze(clip(6, 9), { signal: ctl.signal });
      ctl.abort(new Error('deadline'));
      await assert.rejects(slow, (e) => isVoicemoodError(e, 'timeout'));

      const r = new Redis(redis!.url);
      try {
        // Every finished job's audio and result are gone from Redis (the aborted one may still run: wait for it).
        for (let i = 0; i < 200 && worker.stats().active > 0; i++) await new Promise((res) => setTimeout(res, 25));
        const left = (await r.keys('voicemood:pcm:*')).concat(await r.keys('voicemood:result:*'));
        assert.ok(left.length <= 1, `left behind: ${left.join(', ')}`);
        for (const k of left) assert.ok((await r.ttl(k)) > 0, 'anything left expires');
      } finally {
        r.disconnect();
      }
      assert.equal(reports.filter((x) => x.outcome === 'completed').length, 4);
      assert.equal(gateway.stats().completed, 4);
    } finally {
      await worker.stop();
      await gateway.close();
      await local.close();
    }

    // No worker, a queue at its bound: 'busy' at once, with a retry hint.
    const full = await QueueEngine.open({ settings: settings({ maxDepth: 1 }), logger, waitMs: 60_000 });
    try {
      const waiting = full.analyze(clip(1, 5), { signal: AbortSignal.timeout(30_000) });
      // (The bound is read before each add, so two adds at the same instant may both pass it.)
      for (let i = 0; i < 400 && full.stats().added === 0; i++) await new Promise((res) => setTimeout(res, 10));
      await assert.rejects(full.analyze(clip(1, 6)), (e) => isVoicemoodError(e, 'busy') && (e.retryAfterS ?? 0) > 0);
      assert.equal(full.stats().busy, 1);
      const w2 = await startWorker({ settings: settings(), engine: await openEngine(), logger, concurrency: 1 });
      await waiting; // a worker that starts later takes it
      await w2.stop();
    } finally {
      await full.close();
    }
  },
);

test('queue: with its Redis gone, a gateway answers busy at once instead of waiting', { skip: skipWithoutRedis, timeout: 60_000 }, async () => {
  const own = await startRedis();
  const gateway = await QueueEngine.open({ settings: { ...queueSettingsFromEnv({}, own.url), backoffMs: 10 }, logger });
  const probe = new Redis(own.url, { lazyConnect: false });
  probe.on('error', () => undefined);
  await new Promise((res) => (probe.status === 'ready' ? res(undefined) : probe.once('ready', res)));
  const closed = new Promise((res) => probe.once('close', res));
  own.stop();
  await closed; // the gateway's connections see the same socket close
  let err: unknown;
  for (let i = 0; i < 100 && !isVoicemoodError(err, 'busy'); i++) {
    err = await gateway.analyze(clip(1, 7), { signal: AbortSignal.timeout(2000) }).then(
      () => undefined,
      (e: unknown) => e,
    );
  }
  assert.ok(isVoicemoodError(err, 'busy') && /cannot be reached/.test(err.message), String(err));
  probe.disconnect();
  await gateway.close();
});
