/**
 * A tiny graph-building DSL over ONNX: typed inputs/outputs with symbolic dims, nodes that return
 * the names of their outputs, small constants, and large initializers whose data is read lazily
 * (only when writer.ts streams them to disk).
 *
 *   const g = new GraphBuilder('net');
 *   const x = g.input('x', 'FLOAT', ['batch', 16]);
 *   const w = g.weight('w', 'FLOAT', [16, 4], async () => readWeights());
 *   g.output(g.op('MatMul', [x, w]), 'y', 'FLOAT', ['batch', 4]);
 */
import type { AttrValue, DataTypeName, Dim, NodeSpec, SmallTensor, SubgraphSpec, ValueInfoSpec } from './onnxProto.ts';
import { BYTES_PER_ELEMENT } from './onnxProto.ts';

export type TensorData = Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

/** A graph initializer whose bytes are produced only when the file is written. */
export interface LazyInitializer {
  name: string;
  dataType: DataTypeName;
  dims: number[];
  /** Called once, while writing; must return exactly numel(dims) elements. */
  read: () => Promise<TensorData> | TensorData;
}

/** Attribute values: plain numbers are ints, number[] are ints, strings are strings; floats need attr.f. */
export type AttrInput = AttrValue | number | number[] | string;

export const attr = {
  f: (value: number): AttrValue => ({ kind: 'float', value }),
  i: (value: number): AttrValue => ({ kind: 'int', value }),
  s: (value: string): AttrValue => ({ kind: 'string', value }),
  floats: (value: number[]): AttrValue => ({ kind: 'floats', value }),
  ints: (value: number[]): AttrValue => ({ kind: 'ints', value }),
  tensor: (value: SmallTensor): AttrValue => ({ kind: 'tensor', value }),
  graph: (value: SubgraphSpec): AttrValue => ({ kind: 'graph', value }),
};

function toAttr(v: AttrInput): AttrValue {
  if (typeof v === 'number') return { kind: 'int', value: v };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (Array.isArray(v)) return { kind: 'ints', value: v };
  return v;
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function byteLength(t: Pick<LazyInitializer, 'dataType' | 'dims'>): number {
  return numel(t.dims) * BYTES_PER_ELEMENT[t.dataType];
}

export class GraphBuilder {
  readonly name: string;
  readonly nodes: NodeSpec[] = [];
  readonly inputs: ValueInfoSpec[] = [];
  readonly outputs: ValueInfoSpec[] = [];
  readonly initializers: LazyInitializer[] = [];
  private readonly used = new Set<string>();
  private counter = 0;
  /** Where op() puts nodes: this graph's, or a subgraph's while `subgraph` builds one. */
  private target: NodeSpec[] = this.nodes;

  constructor(name: string) {
    this.name = name;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`graph value name used twice: ${name}`);
    this.used.add(name);
    return name;
  }

  /** A fresh value name based on `hint`. */
  fresh(hint: string): string {
    return this.claim(this.unused(hint));
  }

  private unused(hint: string): string {
    let name = `${hint}_${this.counter++}`;
    while (this.used.has(name)) name = `${hint}_${this.counter++}`;
    return name;
  }

  input(name: string, dataType: DataTypeName, dims: Dim[]): string {
    this.inputs.push({ name: this.claim(name), dataType, dims });
    return name;
  }

  /** Declares `value` as graph output `name` (through an Identity node when the names differ). */
  output(value: string, name: string, dataType: DataTypeName, dims: Dim[]): void {
    if (value !== name) {
      this.claim(name);
      this.target.push({ opType: 'Identity', name: `${name}/Identity`, inputs: [value], outputs: [name], attributes: {} });
    }
    this.outputs.push({ name, dataType, dims });
  }

  /** A large initializer read lazily at write time. */
  weight(name: string, dataType: DataTypeName, dims: number[], read: LazyInitializer['read']): string {
    this.initializers.push({ name: this.claim(name), dataType, dims, read });
    return name;
  }

  /** A float32 constant (scalar when dims is []). */
  constF(values: number | number[] | Float32Array, dims?: number[], hint = 'constF'): string {
    const data = typeof values === 'number' ? Float32Array.of(values) : Float32Array.from(values);
    return this.weight(this.unused(hint), 'FLOAT', dims ?? (typeof values === 'number' ? [] : [data.length]), () => data);
  }

  /** An int64 constant (scalar when dims is []). */
  constI(values: number | number[], dims?: number[], hint = 'constI'): string {
    const list = typeof values === 'number' ? [values] : values;
    const data = BigInt64Array.from(list.map((v) => BigInt(v)));
    return this.weight(this.unused(hint), 'INT64', dims ?? (typeof values === 'number' ? [] : [list.length]), () => data);
  }

  /** A uint8 scalar constant (zero points). */
  constU8(value: number, hint = 'constU8'): string {
    const data = Uint8Array.of(value);
    return this.weight(this.unused(hint), 'UINT8', [], () => data);
  }

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrInput> = {}, hint?: string): string {
    return this.opN(opType, inputs, 1, attrs, hint)[0];
  }

  /** Adds a node with `count` outputs and returns their names. */
  opN(opType: string, inputs: string[], count: number, attrs: Record<string, AttrInput> = {}, hint?: string): string[] {
    const base = hint ?? opType;
    const outputs = Array.from({ length: count }, () => this.fresh(base));
    const attributes: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(attrs)) attributes[k] = toAttr(v);
    this.target.push({ opType, name: `${outputs[0]}/node`, inputs, outputs, attributes });
    return outputs;
  }

  /**
   * A subgraph (the body of a Loop, say): the nodes that `build` adds go into it instead of this
   * graph. It may read any value of this graph; constants and weights made meanwhile become this
   * graph's initializers, read from the outer scope. Names stay unique across both graphs.
   * `build` gets the input names and returns the outputs, each a value made inside the subgraph.
   */
  subgraph(name: string, inputs: ValueInfoSpec[], build: (inputs: string[]) => ValueInfoSpec[]): SubgraphSpec {
    const outer = this.target;
    const nodes: NodeSpec[] = [];
    const declared = inputs.map((v) => ({ ...v, name: this.fresh(v.name) }));
    this.target = nodes;
    try {
      const outputs = build(declared.map((v) => v.name));
      return { name, nodes, inputs: declared, outputs };
    } finally {
      this.target = outer;
    }
  }
}
