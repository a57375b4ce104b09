/**
 * Queue mode against one process, on the same clips (issue 13):
 *   throughput  2 workers × 1 thread through Redis (`voicemood worker` processes, a QueueEngine
 *               here) vs one engine with 2 threads in this process; 24 clips of 3–7 s at once
 *               (12 with --quick), 3 rounds of each, alternating → median audio-s per wall-s of
 *               each, and their ratio (target ≥ 0.9)
 *   latency     1 s clips one at a time, alternating: queue round trip vs the same engine with 1
 *               thread (as a worker has) in this process → the median of the per-pair
 *               differences: the latency the queue adds per note (target ≤ 20 ms)
 * Needs redis-server on PATH (skipped otherwise). Run alone: node bench/queue.ts [--quick] [--model base|large] [--quant int8|fp32]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cacheDir } from '../src/util/config.ts';
import { Engine } from '../src/inference/engine.ts';
import { QueueEngine } from '../src/queue/queueEngine.ts';
import { queueSettingsFromEnv } from '../src/queue/config.ts';
import { createLogger } from '../src/util/log.ts';
import { hasRedis, startRedis } from '../test/helpers/redis.ts';
import { ensureBenchModel, type ModelSize, type Quant } from './models.ts';
import { median, round, testClip } from './stats.ts';

export interface QueueBenchResult {
  model: string;
  clips: number;
  concurrency: number;
  oneProcess2Threads: { audioSPerS: number };
  twoWorkers1Thread: { audioSPerS: number };
  throughputRatio: number;
  lowLoad: { clipS: number; runs: number; localMedianMs: number; queueMedianMs: number; addedMedianMs: number };
  rounds: number;
}

const ROOT = join(import.meta.dirname, '..');

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [join(ROOT, 'src/cli/main.ts'), 'worker'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('voicemood worker: ready')) resolve(proc);
    });
    proc.on('exit', (code) => reject(new Error(`worker exited ${code}: ${err.slice(-500)}`)));
  });
}

async function throughput(analyze: (s: Float32Array) => Promise<unknown>, clips: Float32Array[]): Promise<number> {
  const t = performance.now();
  await Promise.all(clips.map((c) => analyze(c)));
  const audioS = clips.reduce((s, c) => s + c.length / 16000, 0);
  return audioS / ((performance.now() - t) / 1000);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export async function runQueueBench(options: {
  cache: string;
  size: ModelSize;
  quant: Quant;
  quick: boolean;
  log: (s: string) => void;
}): Promise<QueueBenchResult | undefined> {
  if (!hasRedis) {
    options.log('queue bench: skipped (redis-server is not installed)');
    return undefined;
  }
  const model = await ensureBenchModel(options.cache, options.size, options.quant);
  const count = options.quick ? 12 : 24;
  const runs = options.quick ? 9 : 21;
  const rounds = options.quick ? 2 : 3;
  const clips = Array.from({ length: count }, (_, i) => testClip(3 + (i % 5), i + 1));
  const short = testClip(1, 99);
  const redis = await startRedis();
  const workers: ChildProcess[] = [];
  try {
    const url = redis.url;
    const env = { VOICEMOOD_QUEUE_URL: url, VOICEMOOD_MODEL: model.path, VOICEMOOD_ENGINE_THREADS: '1' };
    workers.push(...(await Promise.all([startWorker(env), startWorker(env)])));
    options.log(`queue bench: ${options.size} ${options.quant}, ${count} clips of 3–7 s at once, then ${runs} × 1 s one at a time`);

    const opened = { optimizedCacheDir: join(cacheDir(), 'bench', 'ort-optimized') };
    // Rounds alternate between the two setups, and the low-load runs alternate note by note, so
    // that other load on the machine weighs on both alike; medians are reported.
    const local2 = await Engine.open(model.path, { ...opened, threads: 2 });
    const local1 = await Engine.open(model.path, { ...opened, threads: 1 });
    const gateway = await QueueEngine.open({ settings: queueSettingsFromEnv({}, url), logger: createLogger({ level: 'warn' }) });
    const tpLocal: number[] = [];
    const tpQueue: number[] = [];
    const msLocal: number[] = [];
    const msQueue: number[] = [];
    const added: number[] = [];
    try {
      for (const e of [local2, local1, gateway, gateway]) await e.analyze(short);
      for (let r = 0; r < rounds; r++) {
        tpLocal.push(await throughput((c) => local2.analyze(c), clips));
        tpQueue.push(await throughput((c) => gateway.analyze(c), clips));
      }
      for (let i = 0; i < runs; i++) {
        const a = await timed(() => local1.analyze(short));
        const b = await timed(() => gateway.analyze(short));
        msLocal.push(a);
        msQueue.push(b);
        added.push(b - a);
      }
    } finally {
      await gateway.close();
      await local1.close();
      await local2.close();
    }
    const local2Tp = median(tpLocal);
    const queueTp = median(tpQueue);
    const localMs = median(msLocal);
    const queueMs = median(msQueue);
    return {
      model: `${options.size} ${options.quant}`,
      clips: count,
      concurrency: count,
      oneProcess2Threads: { audioSPerS: round(local2Tp, 2) },
      twoWorkers1Thread: { audioSPerS: round(queueTp, 2) },
      throughputRatio: round(queueTp / local2Tp, 3),
      lowLoad: { clipS: 1, runs, localMedianMs: round(localMs, 1), queueMedianMs: round(queueMs, 1), addedMedianMs: round(median(added), 1) },
      rounds,
    };
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(undefined) : w.once('exit', r)))));
    redis.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, model: { type: 'string', default: 'base' }, quant: { type: 'string', default: 'int8' } },
  });
  const r = await runQueueBench({
    cache: join(cacheDir(), 'bench'),
    size: values.model as ModelSize,
    quant: values.quant as Quant,
    quick: values.quick,
    log: (s) => process.stderr.write(`${s}\n`),
  });
  console.log(JSON.stringify(r, null, 2));
}
