/**
 * The main thread keeps turning while a long clip is analysed: its longest event-loop stall
 * during a 60 s clip on a model whose run takes seconds stays far below the run's length with
 * the session on its own thread (target ≤ 50 ms, asserted < 250 ms on the best of up to three
 * runs so that a loaded 2-core box does not make it flaky), while the same run on the main thread
 * stalls it for the whole run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../src/inference/engine.ts';
import { writeTinyModel } from '../helpers/tinyModel.ts';
import { watchLoopStall } from '../../src/util/loopStall.ts';

const BOUND_MS = 250;

/** 60 s of a voice-like signal (deterministic). */
function longClip(seconds: number): Float32Array {
  const out = new Float32Array(seconds * 16000);
  for (let i = 0; i < out.length; i++) {
    const t = i / 16000;
    out[i] = 0.3 * Math.sin(2 * Math.PI * (140 + 40 * Math.sin(2 * Math.PI * 0.7 * t)) * t) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t));
  }
  return out;
}

describe('watchLoopStall', () => {
  it('sees a blocked loop and not an idle one', async () => {
    const idle = watchLoopStall();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const quiet = await idle.stop();
    assert.ok(quiet.samples > 0);
    assert.ok(quiet.longestMs < BOUND_MS, `idle loop: ${quiet.longestMs} ms`);

    const busy = watchLoopStall();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const until = performance.now() + 300;
    while (performance.now() < until); // blocks the loop for 300 ms
    const blocked = await busy.stop();
    assert.ok(blocked.longestMs >= 290, `blocked loop: ${blocked.longestMs} ms`);
    assert.equal((await busy.stop()).longestMs, blocked.longestMs, 'stop() is idempotent');
  });
});

describe('main-thread stall while the engine analyses 60 s of audio', () => {
  let dir: string;
  let modelPath: string;
  const samples = longClip(60);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vm-stall-'));
    // Big enough that one 60 s run takes seconds on 2 cores (D 256, 2 + 4 blocks), small enough to build in a second.
    modelPath = (await writeTinyModel(join(dir, 'stall.onnx'), { embedDim: 256, numHeads: 4, depth: 4, prenetDepth: 2, convChannels: 256, seed: 3 })).path;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The longest stall and run time of each of `runs` analyses of `clip` (fewer if `enough` says so). */
  async function measure(
    inferenceThread: 'worker' | 'main',
    clip: Float32Array,
    runs: number,
    enough: (stallMs: number) => boolean,
  ): Promise<{ stallMs: number; runMs: number }[]> {
    let runMs = 0;
    const engine = await Engine.open(modelPath, { optimizedCacheDir: join(dir, 'cache'), inferenceThread, onBatch: (b) => (runMs = b.ms) });
    const figures: { stallMs: number; runMs: number }[] = [];
    try {
      while (figures.length < runs) {
        const watch = watchLoopStall();
        const result = await engine.analyze(clip, { frames: true }); // frames, as a voice note asks
        const stall = await watch.stop();
        assert.equal(result.durationS, clip.length / 16000);
        figures.push({ stallMs: stall.longestMs, runMs });
        if (enough(stall.longestMs)) break;
      }
      return figures;
    } finally {
      await engine.close();
    }
  }

  it(`stays under ${BOUND_MS} ms with the inference thread, and exceeds it with the session on the main thread`, async (t) => {
    // Other processes on a shared 2-core box can starve the main thread for a while whatever we
    // do: the inference thread gets up to three tries to show a run under the bound. The
    // in-thread session cannot pass on any try, since it blocks the loop for the whole run; it
    // gets half the clip, which is plenty to show that and keeps the test short.
    const worker = await measure('worker', samples, 3, (stallMs) => stallMs < BOUND_MS);
    const [main] = await measure('main', samples.subarray(0, samples.length / 2), 1, () => true);
    const show = (f: { stallMs: number; runMs: number }): string => `${f.stallMs.toFixed(1)} ms during a ${f.runMs.toFixed(0)} ms run`;
    t.diagnostic(`inference thread: longest stall ${worker.map(show).join('; ')}`);
    t.diagnostic(`main thread:      longest stall ${show(main)}`);
    assert.ok(
      [...worker, main].every((f) => f.runMs > 2 * BOUND_MS),
      'the runs are long enough for the comparison to mean something',
    );
    assert.ok(
      worker.some((f) => f.stallMs < BOUND_MS),
      `inference thread: the main thread stalled ${worker.map((f) => f.stallMs.toFixed(1)).join(', ')} ms`,
    );
    assert.ok(main.stallMs > BOUND_MS, `in-thread session: the main thread stalled only ${main.stallMs.toFixed(1)} ms`);
  });
});
