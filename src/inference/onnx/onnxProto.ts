/**
 * ONNX messages (onnx.proto, IR version 8) encoded with the field numbers of the spec. Everything
 * here is small; initializer payloads are streamed by writer.ts after the header from
 * `tensorHeader`.
 */
import { ProtoEncoder, lenFieldSize } from './protobuf.ts';

/** TensorProto.DataType values we use. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
} as const;
export type DataTypeName = keyof typeof DataType;

export const BYTES_PER_ELEMENT: Readonly<Record<DataTypeName, number>> = { FLOAT: 4, UINT8: 1, INT8: 1, INT32: 4, INT64: 8, BOOL: 1 };

/** A dimension: a fixed size or a symbolic name such as "batch". */
export type Dim = number | string;

/** AttributeProto.AttributeType values. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

/** An attribute value with its ONNX type made explicit (JS numbers cannot say int vs float). */
export type AttrValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'tensor'; value: SmallTensor }
  | { kind: 'graph'; value: SubgraphSpec };

/**
 * A graph held by a node attribute (the body of a Loop): nodes and typed inputs/outputs only. It
 * reads the outer graph's values and initializers by name (ONNX outer scope), so it has none of its own.
 */
export interface SubgraphSpec {
  name: string;
  nodes: NodeSpec[];
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
}

/** A tensor held fully in memory (attribute values, small constants). */
export interface SmallTensor {
  name?: string;
  dataType: DataTypeName;
  dims: number[];
  raw: Uint8Array;
}

export interface NodeSpec {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttrValue>;
  domain?: string;
}

export interface ValueInfoSpec {
  name: string;
  dataType: DataTypeName;
  dims: Dim[];
}

function encodeAttribute(name: string, a: AttrValue): Uint8Array {
  const e = new ProtoEncoder().string(1, name);
  switch (a.kind) {
    case 'float':
      e.float(2, a.value).int(20, AttrType.FLOAT);
      break;
    case 'int':
      e.int(3, a.value).int(20, AttrType.INT);
      break;
    case 'string':
      e.string(4, a.value).int(20, AttrType.STRING);
      break;
    case 'tensor':
      e.message(5, encodeSmallTensor(a.value)).int(20, AttrType.TENSOR);
      break;
    case 'graph':
      e.message(6, encodeSubgraph(a.value)).int(20, AttrType.GRAPH);
      break;
    case 'floats':
      for (const v of a.value) e.float(7, v);
      e.int(20, AttrType.FLOATS);
      break;
    case 'ints':
      for (const v of a.value) e.int(8, v);
      e.int(20, AttrType.INTS);
      break;
  }
  return e.finish();
}

export function encodeNode(n: NodeSpec): Uint8Array {
  const e = new ProtoEncoder();
  for (const i of n.inputs) e.string(1, i);
  for (const o of n.outputs) e.string(2, o);
  e.string(3, n.name).string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes)) e.message(5, encodeAttribute(k, v));
  if (n.domain) e.string(7, n.domain);
  return e.finish();
}

/** GraphProto of a subgraph: node (1), name (2), input (11), output (12). */
export function encodeSubgraph(g: SubgraphSpec): Uint8Array {
  const e = new ProtoEncoder();
  for (const n of g.nodes) e.message(1, encodeNode(n));
  e.string(2, g.name);
  for (const v of g.inputs) e.message(11, encodeValueInfo(v));
  for (const v of g.outputs) e.message(12, encodeValueInfo(v));
  return e.finish();
}

export function encodeValueInfo(v: ValueInfoSpec): Uint8Array {
  const shape = new ProtoEncoder();
  for (const d of v.dims) {
    const dim = new ProtoEncoder();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim.finish());
  }
  const tensorType = new ProtoEncoder().int(1, DataType[v.dataType]).message(2, shape.finish());
  const type = new ProtoEncoder().message(1, tensorType.finish());
  return new ProtoEncoder().string(1, v.name).message(2, type.finish()).finish();
}

/** TensorProto fields before raw_data, plus the raw_data tag and length: the payload follows. */
export function tensorHeader(name: string, dataType: DataTypeName, dims: number[], rawLength: number): Uint8Array {
  const e = new ProtoEncoder();
  for (const d of dims) e.int(1, d);
  e.int(2, DataType[dataType]).string(8, name).lenHeader(9, rawLength);
  return e.finish();
}

export function encodeSmallTensor(t: SmallTensor): Uint8Array {
  const e = new ProtoEncoder().raw(tensorHeader(t.name ?? '', t.dataType, t.dims, t.raw.length)).raw(t.raw);
  return e.finish();
}

/** Size of the TensorProto message whose header is `header` and payload `rawLength` bytes. */
export function tensorMessageSize(header: Uint8Array, rawLength: number): number {
  return header.length + rawLength;
}

export function encodeOpset(domain: string, version: number): Uint8Array {
  const e = new ProtoEncoder();
  if (domain) e.string(1, domain);
  return e.int(2, version).finish();
}

export function encodeStringEntry(key: string, value: string): Uint8Array {
  return new ProtoEncoder().string(1, key).string(2, value).finish();
}

export { lenFieldSize };
