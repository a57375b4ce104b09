/**
 * Writes a GraphBuilder as an ONNX ModelProto file, streaming: all message lengths are computed
 * up front from the initializers' shapes, then each initializer's raw_data is read and written
 * one tensor at a time. Memory stays at about one tensor however big the model is (a 1.2 GB
 * checkpoint never sits in one Buffer). The file appears under its name only once complete.
 *
 * Field order: the small top-level fields (metadata_props included) come before the graph, so
 * readers that only want metadata stop early; protobuf parsers accept any order.
 */
import { open, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { GraphBuilder, TensorData } from './graph.ts';
import { byteLength } from './graph.ts';
import { encodeNode, encodeOpset, encodeStringEntry, encodeValueInfo, tensorHeader } from './onnxProto.ts';
import { ProtoEncoder, lenFieldSize } from './protobuf.ts';

export const IR_VERSION = 8; // ONNX 1.10+, what opset 17 goes with
export const OPSET = 17;

export interface WriteProgress {
  tensorsWritten: number;
  tensorsTotal: number;
  bytesWritten: number;
  bytesTotal: number;
}

export interface WriteModelOptions {
  /** metadata_props entries, written in this order. */
  metadata?: Record<string, string>;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  onProgress?: (p: WriteProgress) => void;
}

const FLUSH_AT = 1 << 20;

/** Buffers small writes, passes big ones straight through, tracks the offset. */
class SequentialFile {
  private readonly chunks: Uint8Array[] = [];
  private pending = 0;
  written = 0;
  private readonly fh: Awaited<ReturnType<typeof open>>;

  constructor(fh: Awaited<ReturnType<typeof open>>) {
    this.fh = fh;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.length >= FLUSH_AT) {
      await this.flush();
      await this.fh.write(bytes, 0, bytes.length);
    } else {
      this.chunks.push(bytes);
      this.pending += bytes.length;
      if (this.pending >= FLUSH_AT) await this.flush();
    }
    this.written += bytes.length;
  }

  async flush(): Promise<void> {
    if (this.pending === 0) return;
    const all = Buffer.concat(this.chunks, this.pending);
    this.chunks.length = 0;
    this.pending = 0;
    await this.fh.write(all, 0, all.length);
  }
}

function asBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Writes `graph` to `path` and returns the file size in bytes. */
export async function writeModel(path: string, graph: GraphBuilder, options: WriteModelOptions = {}): Promise<number> {
  if (endianness() !== 'LE') throw new Error('ONNX raw_data is little-endian; big-endian hosts are not supported');

  // Graph body without initializers: nodes, name, inputs, outputs (all small, kept in memory).
  const nodes = new ProtoEncoder(1 << 16);
  for (const n of graph.nodes) nodes.message(1, encodeNode(n));
  nodes.string(2, graph.name);
  const io = new ProtoEncoder();
  for (const v of graph.inputs) io.message(11, encodeValueInfo(v));
  for (const v of graph.outputs) io.message(12, encodeValueInfo(v));

  const headers = graph.initializers.map((t) => tensorHeader(t.name, t.dataType, t.dims, byteLength(t)));
  let graphSize = nodes.length + io.length;
  let bytesTotal = 0;
  graph.initializers.forEach((t, i) => {
    const messageSize = headers[i].length + byteLength(t);
    graphSize += lenFieldSize(5, messageSize);
    bytesTotal += byteLength(t);
  });

  const top = new ProtoEncoder()
    .int(1, IR_VERSION)
    .string(2, options.producerName ?? 'voicemood')
    .string(3, options.producerVersion ?? '0')
    .message(8, encodeOpset('', OPSET));
  if (options.docString) top.string(6, options.docString);
  for (const [k, v] of Object.entries(options.metadata ?? {})) top.message(14, encodeStringEntry(k, v));
  top.lenHeader(7, graphSize);

  const partial = `${path}.partial`;
  const fh = await open(partial, 'w');
  const progress: WriteProgress = { tensorsWritten: 0, tensorsTotal: graph.initializers.length, bytesWritten: 0, bytesTotal };
  try {
    const out = new SequentialFile(fh);
    await out.write(top.finish());
    await out.write(nodes.finish());
    const graphStart = out.written - nodes.length;
    for (let i = 0; i < graph.initializers.length; i++) {
      const t = graph.initializers[i];
      const expected = byteLength(t);
      const data = asBytes(await t.read());
      if (data.length !== expected) {
        throw new Error(`initializer ${t.name}: got ${data.length} bytes, expected ${expected} for dims [${t.dims.join(', ')}]`);
      }
      await out.write(
        new ProtoEncoder()
          .lenHeader(5, headers[i].length + expected)
          .raw(headers[i])
          .finish(),
      );
      await out.write(data);
      progress.tensorsWritten++;
      progress.bytesWritten += expected;
      options.onProgress?.({ ...progress });
    }
    await out.write(io.finish());
    await out.flush();
    if (out.written - graphStart !== graphSize) {
      throw new Error(`internal: graph size ${out.written - graphStart} differs from the computed ${graphSize}`);
    }
    await fh.close();
    await rename(partial, path);
    return out.written;
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(partial, { force: true });
    throw e;
  }
}
