/**
 * Neural-net building blocks over GraphBuilder, reading weights by checkpoint key from a
 * WeightSource. Linear weights are stored transposed ([in, out]) so that MatMul works on
 * [B, T, in] activations; convolutions of the feature encoder are MatMuls over unfolded
 * time-major windows. With int8, `linear` and `conv1dTimeMajor` are dynamically quantized:
 * activations to uint8 at run time (per batch row, so that other rows cannot move them), weights
 * per output column to symmetric 7-bit int8 at conversion time, products in MatMulInteger.
 * Everything that depends on the weights only (scales, scaled column sums) is computed at
 * conversion time, and the run-time plumbing is kept to few passes over the activations (run
 * time) and few nodes (ONNX Runtime's session set-up time grows faster than linearly with the
 * node count; see the README, "Speed").
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

/** Weights of one dense product x W (+ b): float32, or int8 per output column with its scales. */
export type DenseParams =
  { kind: 'fp32'; w: string; b: string | undefined } | { kind: 'int8'; w: string; scale: string; colSumScaled: string | undefined; b: string | undefined };

/**
 * uint8 activations q of a [B, L, K] tensor, per batch row ([B, 1, 1] floats):
 * x ≈ range q / 255 + lo, or, with a zero point z (a uint8 scalar), x ≈ range (q − z) / 255.
 */
export type QuantizedRows = { q: string; range: string } & ({ lo: string; zeroPoint?: undefined } | { lo?: undefined; zeroPoint: string });

/** GELU's minimum, x ≈ −0.7518: every GELU output is ≥ this. */
export const GELU_MIN = -0.16997;
/** Zero point of GELU outputs: 16 of the 255 steps lie below 0 (see quantizeGeluRows). */
export const GELU_ZERO_POINT = 16;

export class Layers {
  readonly g: GraphBuilder;
  readonly src: WeightSource;
  private readonly consts = new Map<string, string>();
  private readonly dense = new Map<string, DenseParams>();
  /** Values made by gelu(): bounded below by GELU_MIN, quantized with a fixed zero point. */
  private readonly geluOutputs = new Set<string>();
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

  /** Whether the dense product or conv named `name` runs in int8. */
  quantizes(name: string): boolean {
    return this.options.quantization === 'int8' && !this.options.keepFloat?.includes(name);
  }

  /**
   * The initializers of a dense product named `name` with a [inDim, outDim] row-major weight
   * matrix from `readW` (shared by every use of `name`), int8 when the options say so.
   */
  private denseParams(name: string, inDim: number, outDim: number, readW: () => Promise<Float32Array>, bias: string | undefined, input: string): DenseParams {
    let p = this.dense.get(name);
    // Column sums serve the per-row offset of quantizeRows only (GELU inputs use a zero point).
    const withColSum = !this.geluOutputs.has(input);
    if (p) {
      if (p.kind === 'int8' && withColSum && !p.colSumScaled) throw new Error(`internal: ${name} is used both after a GELU and not`);
      return p;
    }
    const g = this.g;
    if (this.quantizes(name)) {
      const quantized = shared(withColSum ? 3 : 2, async () => quantizeColumns(await readW(), inDim, outDim));
      const w = g.weight(`${name}.weight_t_int8`, 'INT8', [inDim, outDim], async () => (await quantized()).q);
      // The activations' 1/255 is folded in here (see quantizeRows).
      const scale = g.weight(`${name}.weight_scale_255`, 'FLOAT', [outDim], async () => (await quantized()).scale.map((v) => v / 255));
      const colSumScaled = withColSum
        ? g.weight(`${name}.weight_colsum_scaled`, 'FLOAT', [outDim], async () => {
            const { colSum, scale: perColumn } = await quantized();
            return colSum.map((sum, c) => sum * perColumn[c]);
          })
        : undefined;
      p = { kind: 'int8', w, scale, colSumScaled, b: bias };
    } else {
      p = { kind: 'fp32', w: g.weight(`${name}.weight_t`, 'FLOAT', [inDim, outDim], readW), b: bias };
    }
    this.dense.set(name, p);
    return p;
  }

  /**
   * x @ W^T + b for a torch Linear(inDim, outDim) stored under `prefix`; x is [B, L, inDim].
   * Weights are shared per prefix. `rowMask` ([B, L, 1], 1 = real position) is needed by int8 only.
   */
  linear(x: string, prefix: string, inDim: number, outDim: number, rowMask?: string): string {
    const read = this.src.tensor(`${prefix}.weight`, [outDim, inDim]);
    const bias = this.dense.get(prefix)?.b ?? this.param(`${prefix}.bias`, [outDim]);
    const p = this.denseParams(prefix, inDim, outDim, async () => transpose2d(await read(), outDim, inDim), bias, x);
    if (p.kind === 'fp32') return this.g.op('Add', [this.g.op('MatMul', [x, p.w]), p.b!]);
    return this.integerMatMul(this.quantize(x, rowMask), p);
  }

  /**
   * A bias-free Conv1d(cin → cout, kernel k, stride s, no padding) on TIME-MAJOR x [B, T, cin]
   * (torch weight [cout, cin, k] under `key`) → [B, T', cout], T' = floor((T - k) / s) + 1:
   * one MatMul over the unfolded windows, so no layout transposes are needed around it and it can
   * run in int8 like a linear layer (activations quantized before unfolding: k× less work).
   * `rowMask` [B, T, 1] marks x's real positions (int8 ranges are taken over those only).
   */
  conv1dTimeMajor(x: string, key: string, cin: number, cout: number, k: number, s: number, rowMask?: string): string {
    const read = this.src.tensor(key, [cout, cin, k]);
    // Rows of the unfolded window are (tap, channel): W[j * cin + c][o] = w[o][c][j].
    const readW = async () => {
      const w = await read();
      const out = new Float32Array(k * cin * cout);
      for (let o = 0; o < cout; o++) for (let c = 0; c < cin; c++) for (let j = 0; j < k; j++) out[(j * cin + c) * cout + o] = w[(o * cin + c) * k + j];
      return out;
    };
    const p = this.denseParams(key, k * cin, cout, readW, undefined, x);
    if (p.kind === 'fp32') return this.g.op('MatMul', [this.unfold(x, k, s), p.w]);
    const q = this.quantize(x, rowMask);
    return this.integerMatMul({ ...q, q: this.unfold(q.q, k, s) }, p);
  }

  /** Time-major windows: [B, T, C] → [B, T', k C], row t = x[t s], …, x[t s + k - 1] side by side. */
  unfold(x: string, k: number, s: number): string {
    const g = this.g;
    if (k === 1 && s === 1) return x;
    const T = g.op('Shape', [x], { start: 1, end: 2 }); // [1]
    const outT = g.op('Add', [g.op('Div', [g.op('Sub', [T, this.ints([k])]), this.ints([s])]), this.ints([1])]);
    const span = g.op('Add', [g.op('Mul', [g.op('Sub', [outT, this.ints([1])]), this.ints([s])]), this.ints([1])]); // (T' - 1) s + 1
    const taps = Array.from({ length: k }, (_, j) =>
      g.op('Slice', [x, this.ints([j]), j === 0 ? span : g.op('Add', [span, this.ints([j])]), this.ints([1]), this.ints([s])]),
    );
    return k === 1 ? taps[0] : g.op('Concat', taps, { axis: 2 });
  }

  /** Activations to uint8 per batch row: GELU outputs with a fixed zero point, anything else over its [min, max]. */
  quantize(x: string, rowMask?: string): QuantizedRows {
    return this.geluOutputs.has(x) ? this.quantizeGeluRows(x, rowMask) : this.quantizeRows(x, rowMask);
  }

  /**
   * Activations [B, L, K] to uint8 per batch row over the row's [min, max] (widened to include 0),
   * taken over its real positions only (`rowMask` [B, L, 1]), so that other rows cannot move it:
   * q = round(x / step) + zp with step = range / 255 and zp = round(−min / step) per row, i.e.
   * x ≈ range q / 255 + lo with lo = −zp step. MatMulInteger runs without a zero point (it takes
   * only one per tensor); lo goes into a per-row offset instead (integerMatMul). Passes over x:
   * the two reductions and QuantizeLinear.
   */
  quantizeRows(x: string, rowMask?: string): QuantizedRows {
    const g = this.g;
    // Widened to include 0 (these activations straddle it anyway), so that −min / step is a zero
    // point within [0, 255] and QuantizeLinear takes x as it is: no pass for x − min (with
    // quantizeGeluRows, 5–7 % less time per base int8 clip). A row with no real position at all
    // (a chunk after its end, see localEncoder.ts) has min = +3e38 and max = −3e38 here: widened,
    // both are 0 and its outputs stay finite (an inf would reach real rows as 0 × inf = NaN in attention).
    const lo0 = g.op('Min', [this.rowExtreme(x, 'ReduceMin', rowMask), this.f(0)]);
    const hi0 = g.op('Max', [this.rowExtreme(x, 'ReduceMax', rowMask), this.f(0)]);
    // A constant-zero row has a (near) zero range: q is then meaningless but is multiplied by it below.
    const range = g.op('Max', [g.op('Sub', [hi0, lo0]), this.f(1e-30)]);
    const step = g.op('Mul', [range, this.f(1 / 255)]);
    const zeroPoint = g.op('Round', [g.op('Div', [g.op('Neg', [lo0]), step])]); // [B, 1, 1], 0…255
    const perRow = (v: string) => g.op('Reshape', [v, this.ints([-1])]);
    const q = g.op('QuantizeLinear', [x, perRow(step), g.op('Cast', [perRow(zeroPoint)], { to: 2 })], { axis: 0 }); // to uint8
    return { q, range, lo: g.op('Mul', [g.op('Neg', [zeroPoint]), step]) };
  }

  /**
   * GELU outputs [B, L, K] to uint8 per batch row with the fixed zero point z = GELU_ZERO_POINT:
   * q = round(x / step) + z. Since x ≥ GELU_MIN, only the row's maximum is needed, and
   * step = max(max / (255 − z), −GELU_MIN / z) keeps q within [0, 255]. A constant zero point
   * lets MatMulInteger subtract it itself and leaves no per-row offset: onnxruntime folds the
   * scale into its MatMulIntegerToFloat kernel, and the ReduceMin and the offset Add of
   * quantizeRows are gone (the feature-encoder convs have no bias: no Add at all). Precision: the
   * steps cover [−z step, max] instead of [min, max], about 2 % coarser for a typical row (max ≈ 4).
   */
  quantizeGeluRows(x: string, rowMask?: string): QuantizedRows {
    const g = this.g;
    const z = GELU_ZERO_POINT;
    // A row with no real position gets max −3e38: the step's floor keeps everything finite.
    const hi = this.rowExtreme(x, 'ReduceMax', rowMask);
    const step = g.op('Max', [g.op('Mul', [hi, this.f(1 / (255 - z))]), this.f(-GELU_MIN / z)]);
    const rowStep = g.op('Reshape', [step, this.ints([-1])]);
    const zeroPoint = this.uint8(z);
    const q = g.op('QuantizeLinear', [x, rowStep, g.op('Expand', [zeroPoint, g.op('Shape', [rowStep])])], { axis: 0 });
    return { q, range: g.op('Mul', [step, this.f(255)]), zeroPoint };
  }

  /**
   * The minimum or maximum of each row of x [B, L, K] over its real positions ([B, 1, 1]): reduced
   * over channels first, then the padded positions of the small [B, L, 1] extremes are pushed to
   * ±3e38 (rowMask 0), so x itself is never masked. Padded positions may then saturate in q;
   * nothing real reads them. A row with no real position gets ±3e38.
   */
  private rowExtreme(x: string, op: 'ReduceMin' | 'ReduceMax', rowMask?: string): string {
    const g = this.g;
    const perPosition = g.op(op, [x], { axes: [2], keepdims: 1 });
    const pushed = rowMask ? g.op(op === 'ReduceMin' ? 'Sub' : 'Add', [perPosition, this.paddingPenalty(rowMask)]) : perPosition;
    return g.op(op, [pushed], { axes: [1], keepdims: 1 });
  }

  /** ⌈a / b⌉ of int64 scalars (or tensors), a ≥ 0, b > 0. */
  ceilDiv(a: string, b: string): string {
    return this.g.op('Div', [this.g.op('Sub', [this.g.op('Add', [a, b]), this.int(1)]), b]);
  }

  /** A uint8 scalar constant shared by every use. */
  private uint8(value: number): string {
    const key = `u8:${value}`;
    let name = this.consts.get(key);
    if (!name) this.consts.set(key, (name = this.g.constU8(value, 'zp')));
    return name;
  }

  /** -3e38 where `mask` (1 = real position) is 0, else exactly 0; one per mask. */
  private paddingPenalty(mask: string): string {
    const key = `pen:${mask}`;
    let name = this.consts.get(key);
    if (!name) this.consts.set(key, (name = this.g.op('Mul', [this.g.op('Sub', [mask, this.f(1)]), this.f(3e38)])));
    return name;
  }

  /**
   * With x ≈ range q / 255 + lo per row and W ≈ Wq w_scale per column:
   * x W + b ≈ (q Wq) range (w_scale / 255) + lo (colsum(Wq) w_scale) + b, where w_scale / 255
   * and colsum(Wq) w_scale are conversion-time constants and the int32 product is used once.
   * With a zero point z instead of lo: x W + b ≈ ((q − z) Wq) range (w_scale / 255) + b, and
   * MatMulInteger takes care of z.
   */
  integerMatMul(x: QuantizedRows, p: Extract<DenseParams, { kind: 'int8' }>): string {
    const g = this.g;
    const product = g.op('Cast', [g.op('MatMulInteger', x.zeroPoint !== undefined ? [x.q, p.w, x.zeroPoint] : [x.q, p.w])], { to: 1 });
    const scaled = g.op('Mul', [product, g.op('Mul', [x.range, p.scale])]);
    if (x.zeroPoint !== undefined) {
      if (!p.b) return scaled;
      // The bias goes in as a per-row [B, 1, N] value (b + 0 × range), never as a constant:
      // onnxruntime 1.30 fuses a constant bias into its MatMulIntegerToFloat kernel, which then
      // multiplies it by our per-row scale (embeddings off by ~0.7 on the fixture).
      return g.op('Add', [scaled, g.op('Add', [g.op('Mul', [x.range, this.f(0)]), p.b])]);
    }
    if (!p.colSumScaled) throw new Error('internal: a per-row offset needs the column sums');
    let offset = g.op('Mul', [x.lo, p.colSumScaled]); // [B, 1, out]
    if (p.b) offset = g.op('Add', [offset, p.b]);
    return g.op('Add', [scaled, offset]);
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
    const y = g.op('Mul', [g.op('Mul', [x, g.op('Add', [erf, this.f(1)])]), this.f(0.5)]);
    this.geluOutputs.add(y);
    return y;
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
