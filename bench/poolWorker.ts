/** A pool member for child.ts `pool`: opens its own session, says ready, runs its batches on 'go'. */
import { parentPort, workerData } from 'node:worker_threads';
import { openSession } from '../src/inference/session.ts';
import { testClip } from './stats.ts';

const a = workerData as { path: string; cacheDir: string; threadsEach: number; batch: number; clipS: number; batchesEach: number };
const { runner } = await openSession(a.path, { threads: a.threadsEach, cacheDir: a.cacheDir });
const clip = testClip(a.clipS);
const wave = new Float32Array(a.batch * clip.length);
for (let r = 0; r < a.batch; r++) wave.set(clip, r * clip.length);
const lengths = new BigInt64Array(a.batch).fill(BigInt(clip.length));
await runner.run(wave, lengths, a.batch, clip.length, false);
parentPort!.postMessage('ready');
parentPort!.once('message', () => {
  void (async () => {
    for (let i = 0; i < a.batchesEach; i++) await runner.run(wave, lengths, a.batch, clip.length, false);
    parentPort!.postMessage('done');
  })().catch((e: unknown) => {
    throw e; // a failed run ends the worker with its error, as an uncaught exception
  });
});
