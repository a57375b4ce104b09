/**
 * Neural-net building blocks over GraphBuilder, reading weights by checkpoint key from a
 * WeightSource. Linear weights are stored transposed ([in, out]) so that MatMul works on
 * [B, T, in] activations. With int8, `linear` is dynamically quantized: activations to uint8 at
 * run time (per batch row, so batching stays exact), weights per output column to symmetric
 * 7-bit int8 at conversion time, products in MatMulInteger.
 */
import type { GraphBuilder } from '../onnx/graph.ts';
import { attr } from '../onnx/graph.ts';

/** Lazy access to checkpoint tensors by key; `shape` is what the graph expects. */
export interface WeightSource {
  tensor(key: string, shape: number[]): () => Promise<Float32Array>;
}

/** Row-major [rows, cols] → [cols, rows]. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[base + c];
  }
  return out;
}

/**
 * Weights use 7 bits (±63): onnxruntime's x86 int8 kernels (VPMADDUBSW) add pairs of products in
 * int16 and saturate with full-range weights and activations (its own quantizer's reduce_range).
 */
export const WEIGHT_MAX = 63;

/** Symmetric per-column int8 of a row-major [rows, cols] matrix (columns = output features). */
export function quantizeColumns(w: Float32Array, rows: number, cols: number): { q: Int8Array; scale: Float32Array; colSum: Float32Array } {
  const scale = new Float32Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) scale[c] = Math.max(scale[c], Math.abs(w[r * cols + c]));
  for (let c = 0; c < cols; c++) scale[c] = scale[c] > 0 ? scale[c] / WEIGHT_MAX : 1;
  const q = new Int8Array(w.length);
  const colSum = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      q[r * cols + c] = Math.max(-WEIGHT_MAX, Math.min(WEIGHT_MAX, Math.round(w[r * cols + c] / scale[c])));
      colSum[c] += q[r * cols + c];
    }
  }
  return { q, scale, colSum };
}

/** Memoizes an async computation for exactly `uses` consumers, then lets it be collected. */
function shared<T>(uses: number, make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  let left = uses;
  return () => {
    const p = (pending ??= make());
    if (--left === 0) pending = undefined;
    return p;
  };
}

export interface LayersOptions {
  /** int8: dynamically quantized linear layers (except those named in `keepFloat`). */
  quantization?: 'fp32' | 'int8';
  /** Linear prefixes kept in float32 even with int8 (e.g. the small output head). */
  keepFloat?: string[];
}

type LinearParams = { kind: 'fp32'; w: string; b: string } | { kind: 'int8'; w: string; scale: string; colSum: string; b: string };

export class Layers {
  readonly g: GraphBuilder;
  readonly src: WeightSource;
  private readonly consts = new Map<string, string>();
  private readonly linears = new Map<string, LinearParams>();
  private readonly options: LayersOptions;

  constructor(g: GraphBuilder, src: WeightSource, options: LayersOptions = {}) {
    this.g = g;
    this.src = src;
    this.options = options;
  }

  /** A float constant shared by every use (one initializer per distinct value). */
  f(value: number): string {
    const key = `f:${value}`;
    let name = this.consts.get(key);
    if (!name) this.consts.set(key, (name = this.g.constF(value, [], 'c')));
    return name;
  }

  /** An int64 1-D constant shared by every use. */
  ints(values: number[]): string {
    const key = `i:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) this.consts.set(key, (name = this.g.constI(values, [values.length], 'ci')));
    return name;
  }

  /** An int64 scalar constant shared by every use. */
  int(value: number): string {
    const key = `is:${value}`;
    let name = this.consts.get(key);
    if (!name) this.consts.set(key, (name = this.g.constI(value, [], 'ci')));
    return name;
  }

  /** A checkpoint tensor as an initializer, unchanged. */
  param(key: string, shape: number[]): string {
    return this.g.weight(key, 'FLOAT', shape, this.src.tensor(key, shape));
  }

  /**
   * x @ W^T + b for a torch Linear(inDim, outDim) stored under `prefix`; x is [B, L, inDim].
   * Weights are shared per prefix. `rowMask` ([B, L, 1], 1 = real position) is needed by int8 only.
   */
  linear(x: string, prefix: string, inDim: number, outDim: number, rowMask?: string): string {
    const g = this.g;
    let p = this.linears.get(prefix);
    if (!p) {
      const read = this.src.tensor(`${prefix}.weight`, [outDim, inDim]);
      if (this.options.quantization === 'int8' && !this.options.keepFloat?.includes(prefix)) {
        const quantized = shared(3, async () => quantizeColumns(transpose2d(await read(), outDim, inDim), inDim, outDim));
        const w = g.weight(`${prefix}.weight_t_int8`, 'INT8', [inDim, outDim], async () => (await quantized()).q);
        const scale = g.weight(`${prefix}.weight_scale`, 'FLOAT', [outDim], async () => (await quantized()).scale);
        const colSum = g.weight(`${prefix}.weight_colsum`, 'FLOAT', [outDim], async () => (await quantized()).colSum);
        p = { kind: 'int8', w, scale, colSum, b: this.param(`${prefix}.bias`, [outDim]) };
      } else {
        const w = g.weight(`${prefix}.weight_t`, 'FLOAT', [inDim, outDim], async () => transpose2d(await read(), outDim, inDim));
        p = { kind: 'fp32', w, b: this.param(`${prefix}.bias`, [outDim]) };
      }
      this.linears.set(prefix, p);
    }
    if (p.kind === 'fp32') return g.op('Add', [g.op('MatMul', [x, p.w]), p.b]);
    // Activations to uint8 per batch row (asymmetric, like DynamicQuantizeLinear, but with the
    // range taken over the row's real positions only: rows [B, L, in] masked by `rowMask`
    // [B, L, 1]), so that batching cannot change a row's result. With x ≈ s (q - z):
    // x W ≈ s w_scale (q Wq - z colsum(Wq)).
    const masked = rowMask ? g.op('Mul', [x, rowMask]) : x;
    const hi = g.op('Max', [g.op('ReduceMax', [masked], { axes: [1, 2], keepdims: 1 }), this.f(0)]); // [B, 1, 1]
    const lo = g.op('Min', [g.op('ReduceMin', [masked], { axes: [1, 2], keepdims: 1 }), this.f(0)]);
    const xScale = g.op('Max', [g.op('Div', [g.op('Sub', [hi, lo]), this.f(255)]), this.f(1e-30)]);
    const zero = g.op('Round', [g.op('Div', [g.op('Neg', [lo]), xScale])]);
    const xq = g.op('Cast', [g.op('Clip', [g.op('Add', [g.op('Round', [g.op('Div', [x, xScale])]), zero]), this.f(0), this.f(255)])], { to: 2 });
    const product = g.op('Cast', [g.op('MatMulInteger', [xq, p.w])], { to: 1 });
    const centred = g.op('Sub', [product, g.op('Mul', [zero, p.colSum])]);
    return g.op('Add', [g.op('Mul', [centred, g.op('Mul', [xScale, p.scale])]), p.b]);
  }

  /** LayerNorm over the last axis with the affine parameters `${prefix}.weight/bias`. */
  layerNorm(x: string, prefix: string, dim: number, eps: number): string {
    return this.g.op('LayerNormalization', [x, this.param(`${prefix}.weight`, [dim]), this.param(`${prefix}.bias`, [dim])], { axis: -1, epsilon: attr.f(eps) });
  }

  /** LayerNorm over the last axis without affine parameters. */
  layerNormPlain(x: string, dim: number, eps: number): string {
    const key = `ln1:${dim}`;
    let ones = this.consts.get(key);
    if (!ones) this.consts.set(key, (ones = this.g.constF(new Float32Array(dim).fill(1), [dim], 'ones')));
    return this.g.op('LayerNormalization', [x, ones], { axis: -1, epsilon: attr.f(eps) });
  }

  /** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)) (a pattern onnxruntime fuses into one Gelu kernel). */
  gelu(x: string): string {
    const g = this.g;
    const erf = g.op('Erf', [g.op('Div', [x, this.f(Math.SQRT2)])]);
    return g.op('Mul', [g.op('Mul', [x, g.op('Add', [erf, this.f(1)])]), this.f(0.5)]);
  }

  /** Transpose of the last two axes of a 3-D tensor. */
  swap12(x: string): string {
    return this.g.op('Transpose', [x], { perm: [0, 2, 1] });
  }

  /** Dimension `axis` of x as an int64 scalar. */
  dim(x: string, axis: number): string {
    return this.g.op('Squeeze', [this.g.op('Shape', [x], { start: axis, end: axis + 1 }), this.ints([0])]);
  }

  /** Float mask [B, L]: 1 where index < lengths[b], else 0; also the boolean form. */
  lengthMask(lengths: string, size: string): { bool: string; float: string } {
    const g = this.g;
    const idx = g.op('Unsqueeze', [g.op('Range', [this.int(0), size, this.int(1)]), this.ints([0])]);
    const bool = g.op('Less', [idx, g.op('Unsqueeze', [lengths, this.ints([1])])]);
    return { bool, float: g.op('Cast', [bool], { to: 1 }) };
  }
}
