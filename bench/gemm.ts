/**
 * The GEMM probe: how many FLOP/s onnxruntime's plain fp32 MatMul (and the u8 × s8 MatMulInteger
 * our int8 graph uses) reaches on this machine, at the shape of the base model's MLP on a 5 s
 * clip ([260, 768] × [768, 3072]) with the engine's thread count. The model's achieved rate is
 * compared with the fp32 figure (efficiency).
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/inference/onnx/graph.ts';
import { writeModel } from '../src/inference/onnx/writer.ts';
import { median } from './stats.ts';

export interface GemmProbe {
  shape: [number, number, number];
  fp32Gflops: number;
  int8Gops: number;
}

async function probeOne(path: string, feeds: Record<string, ort.Tensor>, threads: number, flops: number, reps: number): Promise<number> {
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    for (let i = 0; i < 3; i++) await s.run(feeds);
    const ms: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      await s.run(feeds);
      ms.push(performance.now() - t);
    }
    return flops / (median(ms) / 1000) / 1e9;
  } finally {
    await s.release();
  }
}

export async function gemmProbe(dir: string, threads: number, reps = 30, M = 260, K = 768, N = 3072): Promise<GemmProbe> {
  const f = new GraphBuilder('gemm_fp32');
  const a = f.input('a', 'FLOAT', [M, K]);
  const w = f.weight('w', 'FLOAT', [K, N], () => Float32Array.from({ length: K * N }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5));
  f.output(f.op('MatMul', [a, w]), 'y', 'FLOAT', [M, N]);
  const fPath = join(dir, 'gemm-fp32.onnx');
  await writeModel(fPath, f);

  const q = new GraphBuilder('gemm_int8');
  const qa = q.input('a', 'UINT8', [M, K]);
  const qw = q.weight('w', 'INT8', [K, N], () => Int8Array.from({ length: K * N }, (_, i) => ((i * 7919) % 127) - 63));
  q.output(q.op('MatMulInteger', [qa, qw]), 'y', 'INT32', [M, N]);
  const qPath = join(dir, 'gemm-int8.onnx');
  await writeModel(qPath, q);

  const flops = 2 * M * K * N;
  const fp32Gflops = await probeOne(
    fPath,
    {
      a: new ort.Tensor(
        'float32',
        Float32Array.from({ length: M * K }, (_, i) => Math.sin(i)),
        [M, K],
      ),
    },
    threads,
    flops,
    reps,
  );
  const int8Gops = await probeOne(
    qPath,
    {
      a: new ort.Tensor(
        'uint8',
        Uint8Array.from({ length: M * K }, (_, i) => (i * 31) % 256),
        [M, K],
      ),
    },
    threads,
    flops,
    reps,
  );
  return { shape: [M, K, N], fp32Gflops, int8Gops };
}
