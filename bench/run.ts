/**
 * `npm run bench`: speed of voicemood's emotion models on this machine, in one run.
 * Builds random-weight models of the real base and large sizes (fp32 and int8) with our own graph
 * builder (cached, no download), then measures, each model in its own process:
 *   GEMM probe (fp32 MatMul and u8×s8 MatMulInteger GFLOP/s), latency of 1 / 5 / 15 s clips
 *   (median of several runs), FLOPs and efficiency (achieved / probe), int8 speed-up, engine
 *   throughput at concurrency 1 / 4 / 16 and the main thread's longest event-loop stall meanwhile,
 *   cold start with a cached model, peak RSS; and a
 *   single-session vs worker-pool comparison; and queue mode (bench/queue.ts: 2 workers × 1 thread
 *   through Redis vs one process with 2 threads, and the latency the queue adds at low load).
 *   Prints a table, writes bench/results.json (fields: README, "Speed"; docs/scaling.md).
 *
 *   node bench/run.ts [--quick] [--model base|large|all] [--quant fp32|int8|all] [--reps N]
 *                     [--threads N] [--no-throughput] [--no-pool] [--no-queue] [--out file]
 *                     [--inference-thread worker|main]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { cacheDir } from '../src/util/config.ts';
import { tinyArch, TINY_MODEL_SIZES } from '../test/helpers/tinyModel.ts';
import { modelFlops } from './flops.ts';
import { gemmProbe } from './gemm.ts';
import { ensureBenchModel, type ModelSize, type Quant } from './models.ts';
import { median, round } from './stats.ts';
import { runQueueBench } from './queue.ts';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    model: { type: 'string', default: 'all' },
    quant: { type: 'string', default: 'all' },
    reps: { type: 'string' },
    threads: { type: 'string' },
    'no-throughput': { type: 'boolean', default: false },
    'no-pool': { type: 'boolean', default: false },
    'no-queue': { type: 'boolean', default: false },
    'inference-thread': { type: 'string', default: 'worker' },
    out: { type: 'string', default: join(import.meta.dirname, 'results.json') },
  },
});

const pick = <T extends string>(v: string, all: T[]): T[] =>
  v === 'all'
    ? all
    : v
        .split(',')
        .map((x) => x.trim() as T)
        .filter((x) => all.includes(x));
const sizes = pick<ModelSize>(opt.model, ['base', 'large']);
const quants = pick<Quant>(opt.quant, ['fp32', 'int8']);
if (sizes.length === 0 || quants.length === 0) throw new Error('--model must be base, large or all; --quant fp32, int8 or all');
const threads = opt.threads ? Number(opt.threads) : availableParallelism();
const inferenceThread = opt['inference-thread'];
if (inferenceThread !== 'worker' && inferenceThread !== 'main') throw new Error('--inference-thread must be worker or main');
const reps = opt.reps ? Number(opt.reps) : opt.quick ? 3 : 7;
const clipsS = opt.quick ? [1, 5] : [1, 5, 15];
const concurrency = opt.quick ? [1, 16] : [1, 4, 16];
const requestsPerClient: Record<string, number> = opt.quick ? { 1: 3, 16: 1 } : { 1: 6, 4: 3, 16: 2 };
const coldRuns = opt.quick ? 1 : 3;
const cache = join(cacheDir(), 'bench');
mkdirSync(cache, { recursive: true });

/** Runs `node bench/child.ts mode args` and returns its result and the wall time spawn → result. */
function child<T>(mode: string, args: unknown): Promise<{ result: T; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const p = spawn(process.execPath, [join(import.meta.dirname, 'child.ts'), mode, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let wallMs = 0;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!wallMs && out.includes('BENCH_RESULT ')) wallMs = performance.now() - t;
    });
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (code !== 0 || !line) reject(new Error(`bench child ${mode} failed (exit ${code})`));
      else resolve({ result: JSON.parse(line.slice('BENCH_RESULT '.length)) as T, wallMs });
    });
  });
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const startLoad = loadavg()[0];
log(`bench: ${sizes.join('+')} × ${quants.join('+')}, ${threads} threads, ${reps} runs per figure, cache ${cache}`);

const probe = await gemmProbe(cache, threads, opt.quick ? 15 : 40);
log(`GEMM probe ${probe.shape.join('×')}: fp32 ${probe.fp32Gflops.toFixed(0)} GFLOP/s, int8 ${probe.int8Gops.toFixed(0)} GOP/s`);

interface LatencyResult {
  latency: Record<string, { medianMs: number; minMs: number; cpuMedianMs: number; runs: number }>;
  outputs5s: { embedding: number[]; scores: number[] };
  peakRssMB: number;
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}
const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));
interface ThroughputResult {
  throughput: Record<
    string,
    { audioSPerS: number; requests: number; audioS: number; wallS: number; meanBatchRows: number; busy: number; longestStallMs: number }
  >;
  peakRssMB: number;
}
interface ColdResult {
  importsMs: number;
  openMs: number;
  firstRunMs: number;
  sinceProcessStartMs: number;
  optimizedCacheHit: boolean;
  peakRssMB: number;
}

const models: Record<string, unknown>[] = [];
const fp32MedianMs5s: Partial<Record<ModelSize, number>> = {};
const fp32Outputs: Partial<Record<ModelSize, LatencyResult['outputs5s']>> = {};
for (const size of sizes) {
  const arch = tinyArch(TINY_MODEL_SIZES[size]);
  for (const quant of quants) {
    const m = await ensureBenchModel(cache, size, quant);
    log(`${size} ${quant}: ${(m.bytes / 1e6).toFixed(0)} MB${m.buildS ? `, built in ${m.buildS.toFixed(1)} s` : ' (cached)'}`);
    // Every figure below is of a start with the optimised graph cached, as a service runs after
    // its first start; the first start (which optimises and writes the cache) is recorded apart.
    const first = (await child<ColdResult>('coldstart', { path: m.path, cacheDir: cache, threads, inferenceThread })).result;
    const lat = (await child<LatencyResult>('latency', { path: m.path, threads, cacheDir: cache, clipsS, reps })).result;
    const latency = Object.fromEntries(
      Object.entries(lat.latency).map(([s, l]) => {
        const gflop = modelFlops(arch, Number(s) * 16000).total / 1e9;
        const achieved = gflop / (l.medianMs / 1000);
        return [
          s,
          {
            ...l,
            gflop: round(gflop),
            achievedGflops: round(achieved),
            efficiency: round(achieved / probe.fp32Gflops, 3),
            realTimeFactor: round(l.medianMs / 1000 / Number(s), 4),
          },
        ];
      }),
    );
    const five = latency['5'];
    if (quant === 'fp32' && five) fp32MedianMs5s[size] = five.medianMs;
    if (quant === 'fp32') fp32Outputs[size] = lat.outputs5s;
    const ref = fp32Outputs[size];
    const vsFp32 =
      quant === 'int8' && ref
        ? { embeddingCosine: round(cosine(lat.outputs5s.embedding, ref.embedding), 5), sameTopLabel: argmax(lat.outputs5s.scores) === argmax(ref.scores) }
        : undefined;
    const speedupVsFp32 = quant === 'int8' && five && fp32MedianMs5s[size] ? round(fp32MedianMs5s[size] / five.medianMs, 2) : undefined;
    log(
      `  latency ${Object.entries(latency)
        .map(([s, l]) => `${s} s: ${l.medianMs.toFixed(0)} ms`)
        .join(', ')}; peak RSS ${lat.peakRssMB.toFixed(0)} MB`,
    );

    let throughput: ThroughputResult | undefined;
    if (!opt['no-throughput']) {
      throughput = (await child<ThroughputResult>('throughput', { path: m.path, threads, cacheDir: cache, concurrency, requestsPerClient, inferenceThread }))
        .result;
      log(
        `  throughput ${Object.entries(throughput.throughput)
          .map(([c, t]) => `c=${c}: ${t.audioSPerS.toFixed(1)} audio-s/s (longest main-thread stall ${t.longestStallMs.toFixed(0)} ms)`)
          .join(', ')}`,
      );
    }

    const cold: { wallMs: number; result: ColdResult }[] = [];
    for (let i = 0; i < coldRuns; i++) cold.push(await child<ColdResult>('coldstart', { path: m.path, cacheDir: cache, threads, inferenceThread }));
    const coldStart = {
      medianMs: round(median(cold.map((c) => c.wallMs))),
      runsMs: cold.map((c) => round(c.wallMs)),
      insideProcess: cold[cold.length >> 1].result,
    };
    log(`  cold start ${coldStart.medianMs.toFixed(0)} ms (spawn → first result)`);

    models.push({
      size,
      quant,
      fileMB: round(m.bytes / 1e6),
      flops5s: modelFlops(arch, 5 * 16000),
      latency,
      speedupVsFp32_5s: speedupVsFp32,
      int8VsFp32_5s: vsFp32,
      throughput: throughput?.throughput,
      mainThreadStallMs: throughput ? round(Math.max(...Object.values(throughput.throughput).map((t) => t.longestStallMs))) : undefined,
      coldStart,
      peakRssMB: {
        latency: round(lat.peakRssMB),
        engine: throughput ? round(throughput.peakRssMB) : undefined,
        coldStart: round(coldStart.insideProcess.peakRssMB),
        firstStart: round(first.peakRssMB),
        firstStartBuiltCache: !first.optimizedCacheHit,
      },
    });
  }
}

let pool: Record<string, unknown> | undefined;
if (!opt['no-pool'] && sizes.includes('base') && quants.includes('int8')) {
  const m = await ensureBenchModel(cache, 'base', 'int8');
  const common = { path: m.path, cacheDir: cache, batch: 8, clipS: 5 };
  const total = opt.quick ? 2 : 4; // batches overall, split over the workers
  const single = (await child<{ audioSPerS: number; peakRssMB: number }>('pool', { ...common, workers: 1, threadsEach: threads, batchesEach: total })).result;
  const workers = Math.max(2, threads);
  const many = (await child<{ audioSPerS: number; peakRssMB: number }>('pool', { ...common, workers, threadsEach: 1, batchesEach: Math.ceil(total / workers) }))
    .result;
  pool = {
    batch: '8 × 5 s',
    singleSession: { workers: 1, threadsEach: threads, audioSPerS: round(single.audioSPerS), peakRssMB: round(single.peakRssMB) },
    workerPool: { workers, threadsEach: 1, audioSPerS: round(many.audioSPerS), peakRssMB: round(many.peakRssMB) },
    winner: single.audioSPerS >= many.audioSPerS ? 'singleSession' : 'workerPool',
  };
  log(
    `pool: one session × ${threads} threads ${single.audioSPerS.toFixed(1)} audio-s/s, ${workers} workers × 1 thread ${many.audioSPerS.toFixed(1)} audio-s/s`,
  );
}

// Targets of issues 6 and 11 (only those this run measured).
type M = {
  size: string;
  quant: string;
  mainThreadStallMs?: number;
  latency: Record<string, { efficiency: number }>;
  speedupVsFp32_5s?: number;
  int8VsFp32_5s?: { embeddingCosine: number; sameTopLabel: boolean };
  throughput?: Record<string, { audioSPerS: number }>;
  coldStart: { medianMs: number };
  peakRssMB: { latency: number; engine?: number };
};
const find = (size: string, quant: string) => (models as unknown as M[]).find((x) => x.size === size && x.quant === quant);
const targets: { name: string; value: number; target: string; met: boolean }[] = [];
const baseF = find('base', 'fp32');
const baseQ = find('base', 'int8');
const largeQ = find('large', 'int8');
if (baseF?.latency['5'])
  targets.push({
    name: 'base fp32 5 s efficiency vs GEMM probe',
    value: baseF.latency['5'].efficiency,
    target: '>= 0.8',
    met: baseF.latency['5'].efficiency >= 0.8,
  });
if (baseQ?.speedupVsFp32_5s !== undefined)
  targets.push({ name: 'base int8 speed-up vs fp32, 5 s', value: baseQ.speedupVsFp32_5s, target: '>= 2', met: baseQ.speedupVsFp32_5s >= 2 });
if (baseQ?.int8VsFp32_5s)
  targets.push({
    name: 'base int8 vs fp32 embedding cosine, 5 s random-weight clip',
    value: baseQ.int8VsFp32_5s.embeddingCosine,
    target: '>= 0.99',
    met: baseQ.int8VsFp32_5s.embeddingCosine >= 0.99,
  });
const c16 = baseQ?.throughput?.['16']?.audioSPerS;
if (c16 !== undefined) targets.push({ name: 'base int8 audio-s per wall-s at concurrency 16', value: round(c16), target: '>= 15', met: c16 >= 15 });
if (baseQ) targets.push({ name: 'base int8 cold start ms', value: baseQ.coldStart.medianMs, target: '< 1500', met: baseQ.coldStart.medianMs < 1500 });
if (baseQ?.mainThreadStallMs !== undefined)
  targets.push({
    name: 'base int8 longest main-thread stall during the throughput runs, ms',
    value: baseQ.mainThreadStallMs,
    target: '<= 50 (issue 11)',
    met: baseQ.mainThreadStallMs <= 50,
  });
// Queue mode (issue 13): on the smallest model this run measured, int8 preferred.
const queueModel = { size: sizes[0], quant: quants.includes('int8') ? ('int8' as const) : quants[0] };
const queue = opt['no-queue'] ? undefined : await runQueueBench({ cache, ...queueModel, quick: opt.quick, log });
if (queue) {
  targets.push({
    name: `queue mode throughput, 2 workers × 1 thread vs 1 process × 2 threads (${queue.model})`,
    value: queue.throughputRatio,
    target: '>= 0.9 (issue 13)',
    met: queue.throughputRatio >= 0.9,
  });
  targets.push({
    name: 'queue mode added latency per note at low load, ms',
    value: queue.lowLoad.addedMedianMs,
    target: '<= 20 (issue 13)',
    met: queue.lowLoad.addedMedianMs <= 20,
  });
}
const rss = (m: M) => Math.max(m.peakRssMB.latency, m.peakRssMB.engine ?? 0);
if (baseQ) targets.push({ name: 'base int8 peak RSS MB', value: rss(baseQ), target: '< 400', met: rss(baseQ) < 400 });
if (largeQ) targets.push({ name: 'large int8 peak RSS MB', value: rss(largeQ), target: '< 800', met: rss(largeQ) < 800 });

const results = {
  version: 1,
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    totalMemMB: Math.round(totalmem() / 2 ** 20),
    loadAvg1m: { start: round(startLoad, 2), end: round(loadavg()[0], 2) },
    node: process.versions.node,
    onnxruntime: ort.env.versions.common,
  },
  options: { threads, reps, clipsS, concurrency, requestsPerClient, quick: opt.quick, inferenceThread },
  gemmProbe: { shape: probe.shape, fp32Gflops: round(probe.fp32Gflops), int8Gops: round(probe.int8Gops) },
  models,
  pool,
  queue,
  targets,
};
writeFileSync(opt.out, `${JSON.stringify(results, null, 2)}\n`);

// The table.
const rows: string[][] = [['model', 'clip', 'median ms', 'min ms', 'GFLOP', 'GFLOP/s', 'eff.', 'RTF']];
for (const m of models as unknown as (M & {
  latency: Record<string, { medianMs: number; minMs: number; gflop: number; achievedGflops: number; efficiency: number; realTimeFactor: number }>;
})[]) {
  for (const [s, l] of Object.entries(m.latency))
    rows.push([
      `${m.size} ${m.quant}`,
      `${s} s`,
      l.medianMs.toFixed(0),
      l.minMs.toFixed(0),
      l.gflop.toFixed(1),
      l.achievedGflops.toFixed(0),
      `${(100 * l.efficiency).toFixed(0)} %`,
      l.realTimeFactor.toFixed(3),
    ]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const print = (r: string[]) => console.log(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
console.log(
  `\nGEMM probe ${probe.shape.join('×')}: fp32 ${probe.fp32Gflops.toFixed(0)} GFLOP/s, u8×s8 ${probe.int8Gops.toFixed(0)} GOP/s (${threads} threads; load avg ${startLoad.toFixed(1)} → ${loadavg()[0].toFixed(1)})\n`,
);
rows.forEach(print);
console.log('');
for (const m of models as unknown as M[]) {
  const tp = m.throughput
    ? Object.entries(m.throughput)
        .map(([c, t]) => `c${c} ${t.audioSPerS.toFixed(1)}`)
        .join(', ')
    : '-';
  console.log(
    `${`${m.size} ${m.quant}`.padEnd(11)} throughput (audio-s/s) ${tp}; ${m.mainThreadStallMs !== undefined ? `main-thread stall ≤ ${m.mainThreadStallMs.toFixed(0)} ms; ` : ''}cold start ${m.coldStart.medianMs.toFixed(0)} ms; peak RSS ${rss(m).toFixed(0)} MB${m.speedupVsFp32_5s ? `; int8 speed-up ${m.speedupVsFp32_5s}×` : ''}${m.int8VsFp32_5s ? `; vs fp32: cosine ${m.int8VsFp32_5s.embeddingCosine}, same top label ${m.int8VsFp32_5s.sameTopLabel}` : ''}`,
  );
}
if (pool) console.log(`pool (8 × 5 s batches): ${JSON.stringify(pool)}`);
if (queue)
  console.log(
    `queue mode (${queue.model}): 2 workers ${queue.twoWorkers1Thread.audioSPerS} vs 1 process ${queue.oneProcess2Threads.audioSPerS} audio-s/s (ratio ${queue.throughputRatio}); low load +${queue.lowLoad.addedMedianMs} ms per note (${queue.lowLoad.queueMedianMs} vs ${queue.lowLoad.localMedianMs} ms)`,
  );
console.log('\ntargets (issues 6, 11 and 13):');
for (const t of targets) console.log(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${t.value} (${t.target})`);
console.log(`\nwrote ${opt.out}`);
