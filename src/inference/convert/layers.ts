/**
 * Neural-net building blocks over GraphBuilder, reading weights by checkpoint key from a
 * WeightSource. Linear layers are the seam for quantization: weights are stored transposed
 * ([in, out]) so that MatMul works on [B, T, in] activations.
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

export class Layers {
  readonly g: GraphBuilder;
  readonly src: WeightSource;
  private readonly consts = new Map<string, string>();
  private readonly linears = new Map<string, { w: string; b: string }>();

  constructor(g: GraphBuilder, src: WeightSource) {
    this.g = g;
    this.src = src;
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

  /** x @ W^T + b for a torch Linear(inDim, outDim) stored under `prefix`. Weights are shared per prefix. */
  linear(x: string, prefix: string, inDim: number, outDim: number): string {
    let p = this.linears.get(prefix);
    if (!p) {
      const read = this.src.tensor(`${prefix}.weight`, [outDim, inDim]);
      const w = this.g.weight(`${prefix}.weight_t`, 'FLOAT', [inDim, outDim], async () => transpose2d(await read(), outDim, inDim));
      p = { w, b: this.param(`${prefix}.bias`, [outDim]) };
      this.linears.set(prefix, p);
    }
    return this.g.op('Add', [this.g.op('MatMul', [x, p.w]), p.b]);
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
