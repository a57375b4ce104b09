import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isVoicemoodError } from '../../src/domain/errors.ts';
import { EMOTIONS } from '../../src/domain/emotions.ts';
import { framesFor } from '../../src/inference/batcher.ts';
import { Engine, openEngine, type EngineOptions } from '../../src/inference/engine.ts';
import { GraphBuilder } from '../../src/inference/onnx/graph.ts';
import { writeModel } from '../../src/inference/onnx/writer.ts';
import type { BatchOutputs, BatchRunner } from '../../src/inference/session.ts';
import { writeTinyModel } from '../helpers/tinyModel.ts';
import type { EmotionResult } from '../../src/inference/types.ts';

/** A voice-like test signal: two tones with a slow envelope, different per seed. */
function clip(samples: number, seed: number): Float32Array {
  const out = new Float32Array(samples);
  for (let i = 0; i < samples; i++) {
    const t = i / 16000;
    out[i] =
      0.3 * Math.sin(2 * Math.PI * (110 + 40 * seed) * t) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t)) + 0.05 * Math.sin(2 * Math.PI * (900 + 100 * seed) * t);
  }
  return out;
}

/** Outputs of a fake session: row r puts all its probability on label 3 (happy), embedding filled with r. */
function fakeOutputs(rows: number, d: number): BatchOutputs {
  const scores = new Float32Array(rows * 9);
  for (let r = 0; r < rows; r++) scores[r * 9 + 3] = 1;
  const embedding = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) embedding.fill(r, r * d, (r + 1) * d);
  return { scores, logits: scores.slice(), embedding, frameLengths: new BigInt64Array(rows), frameCount: 0 };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function assertSameResult(batched: EmotionResult, alone: EmotionResult): void {
  assert.ok(maxDiff(Object.values(batched.scores), Object.values(alone.scores)) < 1e-5, 'scores');
  assert.ok(maxDiff(batched.logits, alone.logits) < 1e-5, 'logits');
  assert.ok(maxDiff(batched.embedding, alone.embedding) < 1e-5, 'embedding');
  assert.equal(batched.frames?.count, alone.frames?.count);
  assert.ok(maxDiff(batched.frames!.embeddings!, alone.frames!.embeddings!) < 1e-5, 'frames');
  assert.ok(maxDiff(batched.frames!.scores, alone.frames!.scores) < 1e-5, 'frame scores');
  assert.equal(batched.emotion, alone.emotion);
}

describe('Engine on the tiny model', () => {
  let dir: string;
  let modelPath: string;
  const opened: Engine[] = [];
  async function open(options: EngineOptions = {}): Promise<{ engine: Engine; batches: { rows: number; width: number }[] }> {
    const batches: { rows: number; width: number }[] = [];
    const engine = await Engine.open(modelPath, {
      optimizedCacheDir: join(dir, 'cache'),
      threads: 1,
      ...options,
      onBatch: (b) => batches.push({ rows: b.rows, width: b.width }),
    });
    opened.push(engine);
    return { engine, batches };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vm-engine-'));
    modelPath = (await writeTinyModel(join(dir, 'tiny.onnx'))).path;
  });
  after(async () => {
    for (const e of opened) await e.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a clip with named scores, embedding, frames and duration', async () => {
    const { engine } = await open();
    const samples = clip(24000, 1);
    const r = await engine.analyze(samples, { frames: true });
    assert.deepEqual(Object.keys(r.scores), [...EMOTIONS]);
    const sum = Object.values(r.scores).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5);
    assert.equal(r.confidence, Math.max(...Object.values(r.scores)));
    assert.equal(r.scores[r.emotion], r.confidence);
    assert.equal(r.logits.length, 9);
    assert.equal(r.embedding.length, engine.model.embedDim);
    assert.equal(r.durationS, 1.5);
    assert.equal(r.model, 'tiny-random');
    assert.equal(r.frames?.count, framesFor(24000, engine.model.convSpec));
    assert.equal(r.frames?.dim, engine.model.embedDim);
    assert.equal(r.frames?.frameRate, 50);
    // No frames unless asked.
    assert.equal((await engine.analyze(samples)).frames, undefined);
  });

  it('frame scores without frame embeddings, on either thread: the same scores and no embeddings', async () => {
    for (const inferenceThread of ['main', 'worker'] as const) {
      const { engine } = await open({ inferenceThread });
      const samples = clip(20000, 3);
      const full = await engine.analyze(samples, { frames: true });
      const lean = await engine.analyze(samples, { frames: true, frameEmbeddings: false });
      assert.ok(full.frames?.embeddings, inferenceThread);
      assert.ok(lean.frames, inferenceThread);
      assert.equal(lean.frames.embeddings, undefined, inferenceThread);
      assert.equal(lean.frames.count, full.frames.count);
      assert.ok(maxDiff(lean.frames.scores, full.frames.scores) < 1e-6, `${inferenceThread}: frame scores`);
      assert.ok(maxDiff(lean.embedding, full.embedding) < 1e-6, `${inferenceThread}: utterance embedding`);
      // frameEmbeddings alone asks for nothing.
      assert.equal((await engine.analyze(samples, { frameEmbeddings: true })).frames, undefined);
    }
  });

  it('gives each clip of a padded batch what it gives alone, in one session run', async () => {
    const { engine, batches } = await open({ maxBatch: 8 });
    const clips = [clip(16000, 1), clip(21000, 2), clip(9000, 3), clip(17_500, 4)];
    const together = await Promise.all(clips.map((c) => engine.analyze(c, { frames: true })));
    assert.deepEqual(batches, [{ rows: 4, width: 21000 }], 'all four ran as one padded batch');
    for (let i = 0; i < clips.length; i++) {
      const alone = await engine.analyze(clips[i], { frames: true });
      assertSameResult(together[i], alone);
    }
    assert.equal(batches.length, 1 + clips.length);
    assert.ok(batches.slice(1).every((b) => b.rows === 1));
  });

  it('slices each row to its own frames: the embedding is the mean of its real frames', async () => {
    const { engine } = await open();
    const lengths = [8000, 20000];
    const results = await Promise.all(lengths.map((n, i) => engine.analyze(clip(n, i + 5), { frames: true })));
    results.forEach((r, i) => {
      const f = r.frames!;
      assert.equal(f.count, framesFor(lengths[i], engine.model.convSpec));
      assert.equal(f.embeddings!.length, f.count * f.dim);
      assert.equal(f.scores.length, f.count * 9);
      const mean = new Float32Array(f.dim);
      for (let t = 0; t < f.count; t++) for (let d = 0; d < f.dim; d++) mean[d] += f.embeddings![t * f.dim + d] / f.count;
      assert.ok(maxDiff(mean, r.embedding) < 1e-4, 'mean of the sliced frames is the utterance embedding');
      // Every frame's scores are a distribution.
      for (let t = 0; t < f.count; t++) {
        const s = f.scores.subarray(t * 9, t * 9 + 9).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(s - 1) < 1e-4);
      }
    });
  });

  it('splits concurrent requests by maxBatch and keeps long clips apart from short ones', async () => {
    const { engine, batches } = await open({ maxBatch: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((s) => engine.analyze(clip(12000, s))));
    assert.deepEqual(
      batches.map((b) => b.rows),
      [2, 2, 1],
    );
    batches.length = 0;
    await Promise.all([engine.analyze(clip(8000, 1)), engine.analyze(clip(16000 * 8, 2)), engine.analyze(clip(9000, 3))]);
    assert.deepEqual(
      batches.map((b) => [b.rows, b.width]),
      [
        [2, 9000],
        [1, 16000 * 8],
      ],
    );
  });

  it("answers 'busy' at once when the queue is full, with a retry hint", async () => {
    const { engine } = await open({ queueCapacity: 2 });
    const first = [engine.analyze(clip(8000, 1)), engine.analyze(clip(8000, 2))];
    assert.deepEqual(engine.load(), { inFlight: 0, queued: 2, capacity: 2 });
    await assert.rejects(engine.analyze(clip(8000, 3)), (e) => {
      assert.ok(isVoicemoodError(e, 'busy'));
      assert.ok((e.retryAfterS ?? 0) >= 1);
      return true;
    });
    await Promise.all(first);
    assert.deepEqual(engine.load(), { inFlight: 0, queued: 0, capacity: 2 });
    await engine.analyze(clip(8000, 3)); // room again
  });

  it('drops an aborted queued request from the batch and rejects it', async () => {
    const { engine, batches } = await open();
    const controller = new AbortController();
    const kept = engine.analyze(clip(8000, 1));
    const dropped = engine.analyze(clip(8000, 2), { signal: controller.signal });
    controller.abort();
    await assert.rejects(dropped, (e) => isVoicemoodError(e, 'timeout'));
    await kept;
    assert.deepEqual(
      batches.map((b) => b.rows),
      [1],
    );
    await assert.rejects(engine.analyze(clip(8000, 3), { signal: AbortSignal.abort() }), (e) => isVoicemoodError(e, 'timeout'));
  });

  it('close() answers what it accepted before releasing the session, then refuses new work', async () => {
    const { engine } = await open();
    const pending = [engine.analyze(clip(8000, 1)), engine.analyze(clip(30000, 2))];
    let answered = 0;
    for (const p of pending) void p.then(() => answered++);
    await engine.close();
    assert.equal(answered, 2, 'both requests were answered before close() resolved');
    await assert.rejects(engine.analyze(clip(8000, 3)), (e) => isVoicemoodError(e, 'busy'));
    await engine.close(); // idempotent
  });

  it('refuses audio too short for one frame and non-finite samples', async () => {
    const { engine } = await open();
    await assert.rejects(engine.analyze(new Float32Array(399)), (e) => isVoicemoodError(e, 'too_short'));
    const bad = clip(8000, 1);
    bad[100] = Number.NaN;
    await assert.rejects(engine.analyze(bad), (e) => isVoicemoodError(e, 'bad_input'));
    assert.ok((await engine.analyze(new Float32Array(400).fill(0.1))).frames === undefined);
  });

  it('reuses the optimised graph it cached on disk, with the same results', async () => {
    const cacheDir = join(dir, 'cache-reuse');
    const a = await Engine.open(modelPath, { optimizedCacheDir: cacheDir, threads: 1 });
    const b = await Engine.open(modelPath, { optimizedCacheDir: cacheDir, threads: 1 });
    opened.push(a, b);
    assert.equal(a.optimizedCache?.hit, false);
    assert.ok(a.optimizedCache && existsSync(a.optimizedCache.path));
    assert.equal(b.optimizedCache?.hit, true);
    assert.equal(b.optimizedCache?.path, a.optimizedCache?.path);
    const samples = clip(20000, 7);
    const [ra, rb] = [await a.analyze(samples, { frames: true }), await b.analyze(samples, { frames: true })];
    assertSameResult(ra, rb);
    // A damaged cache file is rebuilt, not fatal.
    writeFileSync(a.optimizedCache.path, 'garbage');
    const c = await Engine.open(modelPath, { optimizedCacheDir: cacheDir, threads: 1 });
    opened.push(c);
    assert.equal(c.optimizedCache?.hit, false);
    assertSameResult(await c.analyze(samples, { frames: true }), ra);
  });

  it('rebuilds the optimised graph when the model file changes, and drops the old copy', async () => {
    const cacheDir = join(dir, 'cache-stale');
    const a = await Engine.open(modelPath, { optimizedCacheDir: cacheDir, threads: 1 });
    opened.push(a);
    const later = new Date(Date.now() + 60_000);
    utimesSync(modelPath, later, later); // as if the model had been converted again
    const b = await Engine.open(modelPath, { optimizedCacheDir: cacheDir, threads: 1 });
    opened.push(b);
    assert.equal(b.optimizedCache?.hit, false);
    assert.notEqual(b.optimizedCache?.path, a.optimizedCache?.path);
    assert.deepEqual(readdirSync(join(cacheDir, 'ort-optimized')), [basename(dirname(b.optimizedCache.path))]);
    // The cache entry: the optimised graph and its weights apart (memory-mapped by ORT).
    assert.deepEqual(readdirSync(dirname(b.optimizedCache.path)).sort(), ['model.data', 'model.onnx']);
  });

  it('rejects every row of a batch the session fails on, and keeps serving', async () => {
    const real = await Engine.open(modelPath, { optimizedCacheDir: false, threads: 1 });
    opened.push(real);
    let calls = 0;
    const runner: BatchRunner = {
      run() {
        calls++;
        return calls === 1 ? Promise.reject(new Error('onnxruntime exploded')) : Promise.resolve(fakeOutputs(2, real.model.embedDim));
      },
      release: () => Promise.resolve(),
    };
    const engine = new Engine(real.model, runner);
    const failed = await Promise.allSettled([engine.analyze(clip(8000, 1)), engine.analyze(clip(8000, 2))]);
    for (const f of failed) assert.ok(f.status === 'rejected' && isVoicemoodError(f.reason, 'internal'));
    const ok = await Promise.all([engine.analyze(clip(8000, 1)), engine.analyze(clip(8000, 2))]);
    assert.equal(calls, 2);
    assert.equal(ok[1].emotion, 'happy');
    assert.equal(ok[1].embedding[0], 1);
    await engine.close();
  });

  it('gives clear errors for a missing file, a non-model file and an ONNX model that is not ours', async () => {
    await assert.rejects(openEngine({ model: join(dir, 'nope.onnx'), env: {} }), (e) => {
      assert.ok(isVoicemoodError(e, 'model_missing'));
      assert.match(e.message, /No model file at .*nope\.onnx/);
      return true;
    });
    const junk = join(dir, 'junk.onnx');
    writeFileSync(junk, 'this is not a model');
    await assert.rejects(Engine.open(junk, { optimizedCacheDir: false }), (e) => isVoicemoodError(e, 'model_invalid') && e.message.includes(junk));
    const g = new GraphBuilder('identity');
    const x = g.input('x', 'FLOAT', [1]);
    g.output(x, 'y', 'FLOAT', [1]);
    const foreign = join(dir, 'foreign.onnx');
    await writeModel(foreign, g);
    await assert.rejects(Engine.open(foreign, { optimizedCacheDir: false }), (e) => isVoicemoodError(e, 'model_invalid') && /not a voicemood/.test(e.message));
  });

  it('openEngine opens a path given in VOICEMOOD_MODEL', async () => {
    const engine = await openEngine({ env: { VOICEMOOD_MODEL: modelPath, VOICEMOOD_CACHE_DIR: join(dir, 'cache-env'), VOICEMOOD_ENGINE_THREADS: '1' } });
    opened.push(engine);
    assert.equal(engine.model.path, modelPath);
    assert.equal(engine.load().capacity, 64);
    assert.ok(engine.optimizedCache?.path.startsWith(join(dir, 'cache-env')));
  });
});
