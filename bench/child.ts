/**
 * One measurement in its own process, so that models do not add up in RSS and a cold start is
 * really cold: `node bench/child.ts <mode> <json args>`, answers one line `BENCH_RESULT <json>`.
 *   latency     session as the engine opens it; per clip length the wall and CPU time of a run
 *   throughput  the real engine (dynamic batching) under N concurrent clients, and the main
 *               thread's longest event-loop stall meanwhile
 *   coldstart   process start → engine open → first result
 *   pool        N worker threads, each with its own session, running fixed batches
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Engine } from '../src/inference/engine.ts';
import { openSession } from '../src/inference/session.ts';
import { watchLoopStall } from '../src/util/loopStall.ts';
import { median, testClip } from './stats.ts';

const processStartMs = 0; // performance.now() counts from the process's time origin

function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

function reply(result: unknown): void {
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

interface LatencyArgs {
  path: string;
  threads: number;
  cacheDir: string;
  clipsS: number[];
  reps: number;
}

async function latency(a: LatencyArgs) {
  const { runner } = await openSession(a.path, { threads: a.threads, cacheDir: a.cacheDir });
  const out: Record<string, { medianMs: number; minMs: number; cpuMedianMs: number; runs: number }> = {};
  // The 5 s clip's outputs, so that the parent can compare int8 with fp32 (cosine, top label).
  const probe = testClip(5);
  const probed = await runner.run(probe, BigInt64Array.of(BigInt(probe.length)), 1, probe.length, false);
  const outputs5s = { embedding: Array.from(probed.embedding), scores: Array.from(probed.scores) };
  for (const s of a.clipsS) {
    const clip = testClip(s);
    const lengths = BigInt64Array.of(BigInt(clip.length));
    await runner.run(clip, lengths, 1, clip.length, false); // warm-up: arena sizes, caches
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < a.reps; i++) {
      const c0 = process.cpuUsage();
      const t = performance.now();
      await runner.run(clip, lengths, 1, clip.length, false);
      wall.push(performance.now() - t);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    out[String(s)] = { medianMs: median(wall), minMs: Math.min(...wall), cpuMedianMs: median(cpu), runs: a.reps };
  }
  await runner.release();
  return { latency: out, outputs5s, peakRssMB: peakRssMB() };
}

interface ThroughputArgs {
  path: string;
  threads: number;
  cacheDir: string;
  concurrency: number[];
  /** Requests per client at each concurrency. */
  requestsPerClient: Record<string, number>;
  /** Engine limits to try instead of its defaults. */
  maxBatch?: number;
  maxBatchSeconds?: number;
  /** Clip lengths the clients cycle through (default MIX_S). */
  mixS?: number[];
  /** Where the engine runs its session (default: its inference thread). */
  inferenceThread?: 'worker' | 'main';
}

/** Clip lengths the clients cycle through: a voice-message-like mix around 5 s. */
const MIX_S = [3, 5, 7, 4, 6];

async function throughput(a: ThroughputArgs) {
  let rows = 0;
  let batches = 0;
  const engine = await Engine.open(a.path, {
    threads: a.threads,
    optimizedCacheDir: a.cacheDir,
    ...(a.maxBatch ? { maxBatch: a.maxBatch } : {}),
    ...(a.maxBatchSeconds ? { maxBatchSeconds: a.maxBatchSeconds } : {}),
    ...(a.inferenceThread ? { inferenceThread: a.inferenceThread } : {}),
    onBatch: (b) => {
      rows += b.rows;
      batches++;
    },
  });
  const clips = (a.mixS ?? MIX_S).map((s, i) => testClip(s, i + 1));
  await engine.analyze(clips[0]); // warm-up
  const out: Record<
    string,
    { audioSPerS: number; requests: number; audioS: number; wallS: number; meanBatchRows: number; busy: number; longestStallMs: number }
  > = {};
  for (const c of a.concurrency) {
    rows = 0;
    batches = 0;
    let audioS = 0;
    let busy = 0;
    const per = a.requestsPerClient[String(c)] ?? 2;
    const stall = watchLoopStall();
    const t = performance.now();
    await Promise.all(
      Array.from({ length: c }, async (_, client) => {
        for (let r = 0; r < per; r++) {
          const clip = clips[(client + r) % clips.length];
          try {
            await engine.analyze(clip);
            audioS += clip.length / 16000;
          } catch (e) {
            if ((e as { code?: string }).code !== 'busy') throw e;
            busy++;
          }
        }
      }),
    );
    const wallS = (performance.now() - t) / 1000;
    const longestStallMs = (await stall.stop()).longestMs;
    out[String(c)] = { audioSPerS: audioS / wallS, requests: c * per, audioS, wallS, meanBatchRows: batches ? rows / batches : 0, busy, longestStallMs };
  }
  await engine.close();
  return { throughput: out, peakRssMB: peakRssMB() };
}

async function coldstart(a: { path: string; cacheDir: string; threads: number; inferenceThread?: 'worker' | 'main' }) {
  const t0 = performance.now();
  const engine = await Engine.open(a.path, {
    threads: a.threads,
    optimizedCacheDir: a.cacheDir,
    ...(a.inferenceThread ? { inferenceThread: a.inferenceThread } : {}),
  });
  const opened = performance.now();
  await engine.analyze(testClip(1));
  const done = performance.now();
  const hit = engine.optimizedCache?.hit ?? false;
  await engine.close();
  return {
    importsMs: t0 - processStartMs,
    openMs: opened - t0,
    firstRunMs: done - opened,
    sinceProcessStartMs: done,
    optimizedCacheHit: hit,
    peakRssMB: peakRssMB(),
  };
}

interface PoolArgs {
  path: string;
  cacheDir: string;
  workers: number;
  threadsEach: number;
  batch: number;
  clipS: number;
  batchesEach: number;
}

async function pool(a: PoolArgs) {
  const workers = Array.from({ length: a.workers }, () => new Worker(new URL('./poolWorker.ts', import.meta.url), { workerData: a }));
  const ready = workers.map((w) => new Promise<void>((res, rej) => w.once('message', () => res()).once('error', rej)));
  await Promise.all(ready); // sessions open and warm
  const t = performance.now();
  await Promise.all(
    workers.map((w) => {
      w.postMessage('go');
      return new Promise<void>((res, rej) => w.once('message', () => res()).once('error', rej));
    }),
  );
  const wallS = (performance.now() - t) / 1000;
  await Promise.all(workers.map((w) => w.terminate()));
  const audioS = a.workers * a.batchesEach * a.batch * a.clipS;
  return { audioSPerS: audioS / wallS, audioS, wallS, peakRssMB: peakRssMB() };
}

const [mode, json] = process.argv.slice(2);
const args = JSON.parse(json ?? '{}') as LatencyArgs & { threads?: number };
args.threads ??= availableParallelism();
const run = { latency, throughput, coldstart, pool }[mode as 'latency'];
if (!run) throw new Error(`unknown mode ${mode}`);
reply(await run(args));
