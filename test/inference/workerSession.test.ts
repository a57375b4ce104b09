/**
 * The session on its own thread (src/inference/workerSession.ts + sessionWorker.ts): same answers
 * as the in-thread session, opening errors with the same sentences, a worker that dies rejects
 * its batch with a typed error and the engine goes on with a new one, release ends the thread,
 * and a process with an engine exits on its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isVoicemoodError } from '../../src/domain/errors.ts';
import { Engine, modelInfo } from '../../src/inference/engine.ts';
import { GraphBuilder } from '../../src/inference/onnx/graph.ts';
import { metadataProps, readModelMetadata } from '../../src/inference/onnx/metadata.ts';
import { writeModel } from '../../src/inference/onnx/writer.ts';
import { writeTinyModel } from '../helpers/tinyModel.ts';
import type { ModelInfo } from '../../src/inference/types.ts';
import { openWorkerSession, WorkerRunner } from '../../src/inference/workerSession.ts';
import type { BatchRunner } from '../../src/inference/session.ts';
import { EXIT_WIDTH, FAKE_D, HANG_WIDTH, THROW_WIDTH } from '../fakes/sessionWorker.ts';

const FAKE_WORKER = new URL('../fakes/sessionWorker.ts', import.meta.url);
const ENGINE_TS = fileURLToPath(new URL('../../src/inference/engine.ts', import.meta.url));

function clip(samples: number, seed: number): Float32Array {
  const out = new Float32Array(samples);
  for (let i = 0; i < samples; i++)
    out[i] = 0.3 * Math.sin((2 * Math.PI * (120 + 30 * seed) * i) / 16000) * (0.6 + 0.4 * Math.sin((2 * Math.PI * 3 * i) / 16000));
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('the session on its own thread', () => {
  let dir: string;
  let modelPath: string;
  let model: ModelInfo;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vm-worker-'));
    modelPath = (await writeTinyModel(join(dir, 'tiny.onnx'))).path;
    model = modelInfo(modelPath, await readModelMetadata(modelPath));
  });
  after(async () => {
    for (const c of cleanups) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An engine on the fake worker; each test gets its own folder of worker starts. */
  async function fakeEngine(name: string, releaseTimeoutMs?: number): Promise<{ engine: Engine; runner: WorkerRunner; starts: () => number }> {
    const starts = join(dir, name);
    mkdirSync(starts);
    const { runner } = await openWorkerSession(modelPath, { workerUrl: FAKE_WORKER, cacheDir: starts, releaseTimeoutMs });
    const engine = new Engine({ ...model, embedDim: FAKE_D }, runner, { batchWindowMs: 0 });
    cleanups.push(() => engine.close());
    return { engine, runner, starts: () => readdirSync(starts).length };
  }

  it('answers what the in-thread session answers, and leaves the caller its samples', async () => {
    const worker = await Engine.open(modelPath, { optimizedCacheDir: join(dir, 'cache'), threads: 1 });
    const main = await Engine.open(modelPath, { optimizedCacheDir: join(dir, 'cache'), threads: 1, inferenceThread: 'main' });
    cleanups.push(
      () => worker.close(),
      () => main.close(),
    );
    const clips = [clip(16000, 1), clip(21000, 2), clip(9000, 3)];
    const copies = clips.map((c) => c.slice());
    const together = await Promise.all(clips.map((c) => worker.analyze(c, { frames: true })));
    clips.forEach((c, i) => assert.deepEqual(c, copies[i], 'the samples given to analyze are untouched (not moved to the worker)'));
    for (let i = 0; i < clips.length; i++) {
      const ref = await main.analyze(clips[i], { frames: true });
      const got = together[i];
      assert.equal(got.emotion, ref.emotion);
      assert.ok(maxDiff(Object.values(got.scores), Object.values(ref.scores)) < 1e-5);
      assert.ok(maxDiff(got.embedding, ref.embedding) < 1e-5);
      assert.equal(got.frames?.count, ref.frames?.count);
      assert.ok(maxDiff(got.frames!.embeddings!, ref.frames!.embeddings!) < 1e-5);
      assert.ok(maxDiff(got.frames!.scores, ref.frames!.scores) < 1e-5);
    }
  });

  it('frame scores without frame embeddings: the same scores, no embeddings, and the frames tensor never leaves the thread', async () => {
    const { runner } = await openWorkerSession(modelPath, { cacheDir: join(dir, 'cache'), threads: 1 });
    // What came back from the inference thread for each batch.
    const seen: { frames: boolean; frameScores: boolean; frameEmbeddingsAsked: boolean | undefined }[] = [];
    const spy: BatchRunner = {
      async run(waveform, lengths, rows, width, withFrames, frameEmbeddings) {
        const out = await runner.run(waveform, lengths, rows, width, withFrames, frameEmbeddings);
        seen.push({ frames: out.frames !== undefined, frameScores: out.frameScores !== undefined, frameEmbeddingsAsked: frameEmbeddings });
        return out;
      },
      release: () => runner.release(),
    };
    const engine = new Engine(model, spy, { batchWindowMs: 20 });
    cleanups.push(() => engine.close());
    const samples = clip(24000, 4);
    const full = await engine.analyze(samples, { frames: true });
    const lean = await engine.analyze(samples, { frames: true, frameEmbeddings: false });
    assert.ok(full.frames?.embeddings && full.frames.embeddings.length === full.frames.count * full.frames.dim);
    assert.ok(lean.frames && full.frames);
    assert.equal(lean.frames.embeddings, undefined, 'no frame embeddings when asked without them');
    assert.equal(lean.frames.count, full.frames.count);
    assert.equal(lean.frames.dim, full.frames.dim);
    assert.ok(maxDiff(lean.frames.scores, full.frames.scores) < 1e-6, 'the same per-frame scores');
    assert.ok(maxDiff(lean.embedding, full.embedding) < 1e-6, 'the utterance embedding is still there');
    assert.equal(lean.emotion, full.emotion);
    assert.deepEqual(seen, [
      { frames: true, frameScores: true, frameEmbeddingsAsked: true },
      { frames: false, frameScores: true, frameEmbeddingsAsked: false },
    ]);
    // One batch, one row with embeddings and one without: fetched once, given to that row only.
    seen.length = 0;
    const [a, b] = await Promise.all([engine.analyze(samples, { frames: true, frameEmbeddings: false }), engine.analyze(clip(16000, 5), { frames: true })]);
    assert.deepEqual(seen, [{ frames: true, frameScores: true, frameEmbeddingsAsked: true }], 'one batch, frames fetched for the row that wants them');
    assert.equal(a.frames?.embeddings, undefined);
    assert.ok(maxDiff(a.frames!.scores, full.frames.scores) < 1e-5);
    assert.equal(b.frames?.embeddings?.length, b.frames!.count * b.frames!.dim);
  });

  it('gives the same model_invalid sentences as before when the worker cannot load a model', async () => {
    // Our metadata (so that the main thread's checks pass) on graphs the worker must refuse.
    const metadata = metadataProps(model);
    const identity = new GraphBuilder('identity');
    identity.output(identity.input('x', 'FLOAT', [1]), 'y', 'FLOAT', [1]);
    const foreign = join(dir, 'foreign.onnx');
    await writeModel(foreign, identity, { metadata });
    await assert.rejects(Engine.open(foreign, { optimizedCacheDir: false }), (e) => {
      assert.ok(isVoicemoodError(e, 'model_invalid'));
      assert.equal(
        e.message,
        `${foreign} is an ONNX model but not a voicemood emotion model (it lacks waveform, lengths, scores, logits, embedding, frame_lengths). Convert the checkpoint with \`voicemood model convert\`.`,
      );
      assert.deepEqual(e.details.outputs, ['y']);
      return true;
    });
    const broken = new GraphBuilder('broken');
    broken.output(broken.op('NoSuchOperator', [broken.input('x', 'FLOAT', [1])]), 'y', 'FLOAT', [1]);
    const unloadable = join(dir, 'unloadable.onnx');
    await writeModel(unloadable, broken, { metadata });
    for (const optimizedCacheDir of [false, join(dir, 'cache-broken')] as const) {
      await assert.rejects(Engine.open(unloadable, { optimizedCacheDir }), (e) => {
        assert.ok(isVoicemoodError(e, 'model_invalid'));
        assert.equal(
          e.message,
          `ONNX Runtime cannot load ${unloadable}: it is not a valid ONNX model or is damaged. Convert it again with \`voicemood model convert\`.`,
        );
        return true;
      });
    }
  });

  it('a worker that exits or throws mid-batch: that batch gets a typed error, the next one a new worker', async () => {
    const { engine, runner, starts } = await fakeEngine('crash');
    assert.equal((await engine.analyze(clip(8000, 1))).embedding[0], 1, 'answered by the first worker');
    for (const [width, start] of [
      [EXIT_WIDTH, 2],
      [THROW_WIDTH, 3],
    ]) {
      await assert.rejects(engine.analyze(clip(width, 2)), (e) => {
        assert.ok(isVoicemoodError(e, 'internal'));
        assert.equal(e.message, 'The emotion engine stopped unexpectedly while analysing this audio; please send it again.');
        return true;
      });
      assert.equal(runner.threadAlive, false);
      const next = await engine.analyze(clip(8000, 3));
      assert.equal(next.emotion, 'happy');
      assert.equal(next.embedding[0], start, 'answered by a new worker');
      assert.equal(starts(), start);
    }
    assert.equal(runner.respawns, 2);
    assert.deepEqual(engine.load(), { inFlight: 0, queued: 0, capacity: 64 });
  });

  it('a worker that hangs: close() stops waiting after the release timeout and fails the batch instead of hanging', async () => {
    const { engine, runner } = await fakeEngine('hang', 200);
    const hung = engine.analyze(clip(HANG_WIDTH, 1));
    const settled = hung.then(
      () => 'answered',
      (e: unknown) => (isVoicemoodError(e, 'internal') ? 'internal' : String(e)),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await runner.release(); // as Engine.close() would after draining; here the batch never ends
    assert.equal(await settled, 'internal');
    assert.equal(runner.threadAlive, false);
  });

  it('an opening error from the worker keeps its type and sentence', async () => {
    const starts = join(dir, 'fail');
    mkdirSync(starts);
    await assert.rejects(openWorkerSession(join(dir, 'x.fail-open'), { workerUrl: FAKE_WORKER, cacheDir: starts }), (e) => {
      assert.ok(isVoicemoodError(e, 'model_invalid'));
      assert.equal(e.message, `${join(dir, 'x.fail-open')} is not a model (fake).`);
      return true;
    });
  });

  it('close() answers what it accepted, then ends the inference thread', async () => {
    const { runner } = await openWorkerSession(modelPath, { cacheDir: join(dir, 'cache'), threads: 1 });
    const engine = new Engine(model, runner);
    const pending = [engine.analyze(clip(8000, 1)), engine.analyze(clip(30000, 2))];
    assert.equal(runner.threadAlive, true);
    await engine.close();
    assert.equal((await Promise.all(pending)).length, 2);
    assert.equal(runner.threadAlive, false, 'the worker has exited');
    await assert.rejects(runner.run(new Float32Array(400), BigInt64Array.of(400n), 1, 400, false), (e) => isVoicemoodError(e, 'internal'));
  });

  it('a process with an engine exits on its own: after close(), and also when it never closes it', () => {
    for (const close of [true, false]) {
      const script = `
        const { Engine } = await import(${JSON.stringify(ENGINE_TS)});
        const engine = await Engine.open(${JSON.stringify(modelPath)}, { optimizedCacheDir: false, threads: 1 });
        const r = await engine.analyze(new Float32Array(16000).fill(0.1));
        ${close ? 'await engine.close();' : ''}
        console.log('answered', r.emotion);`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(child.signal, null, `close=${close}: still running after 30 s (a worker keeps it alive)`);
      assert.equal(child.status, 0, `close=${close}: exit ${child.status}\n${child.stderr}`);
      assert.match(child.stdout, /^answered \w+\n$/);
      assert.equal(child.stderr, '');
    }
  });
});
