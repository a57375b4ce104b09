/**
 * voicemood.* metadata in ONNX metadata_props: encoding for the writer, and a reader that looks at
 * top-level ModelProto fields only, with positional reads, skipping the graph by its length, so
 * reading the metadata of a 1.2 GB model costs a few small reads.
 */
import { open } from 'node:fs/promises';
import { VoicemoodError } from '../../domain/errors.ts';
import type { ModelMetadata } from '../types.ts';
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, readVarint } from './protobuf.ts';

export const META = {
  labelsEn: 'voicemood.labels.en',
  labelsZh: 'voicemood.labels.zh',
  sampleRate: 'voicemood.sample_rate',
  frameRate: 'voicemood.frame_rate',
  embedDim: 'voicemood.embed_dim',
  sourceModel: 'voicemood.source_model',
  sourceRevision: 'voicemood.source_revision',
  checkpointSha256: 'voicemood.checkpoint_sha256',
  converterVersion: 'voicemood.converter_version',
  quantization: 'voicemood.quantization',
  convSpec: 'voicemood.conv_spec',
} as const satisfies Record<keyof ModelMetadata, string>;

export function metadataProps(m: ModelMetadata): Record<string, string> {
  return {
    [META.labelsEn]: JSON.stringify(m.labelsEn),
    [META.labelsZh]: JSON.stringify(m.labelsZh),
    [META.sampleRate]: String(m.sampleRate),
    [META.frameRate]: String(m.frameRate),
    [META.embedDim]: String(m.embedDim),
    [META.sourceModel]: m.sourceModel,
    [META.sourceRevision]: m.sourceRevision,
    [META.checkpointSha256]: m.checkpointSha256,
    [META.converterVersion]: m.converterVersion,
    [META.quantization]: m.quantization,
    [META.convSpec]: JSON.stringify(m.convSpec),
  };
}

function invalid(path: string, why: string): VoicemoodError {
  return new VoicemoodError(
    'model_invalid',
    `The model file ${path} is not a voicemood ONNX model or is damaged (${why}). Convert it again with \`voicemood model convert\`.`,
    {
      details: { path, why },
    },
  );
}

/** Parses the props back; throws model_invalid naming what is missing or malformed. */
export function parseMetadataProps(path: string, props: Map<string, string>): ModelMetadata {
  const get = (key: string): string => {
    const v = props.get(key);
    if (v === undefined) throw invalid(path, `no ${key} in its metadata`);
    return v;
  };
  const num = (key: string): number => {
    const n = Number(get(key));
    if (!Number.isFinite(n) || n <= 0) throw invalid(path, `${key} is not a positive number`);
    return n;
  };
  const json = <T>(key: string, ok: (v: unknown) => boolean): T => {
    let v: unknown;
    try {
      v = JSON.parse(get(key));
    } catch {
      throw invalid(path, `${key} is not JSON`);
    }
    if (!ok(v)) throw invalid(path, `${key} has the wrong form`);
    return v as T;
  };
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
  const quantization = get(META.quantization);
  if (quantization !== 'fp32' && quantization !== 'int8') throw invalid(path, `unknown quantization ${quantization}`);
  return {
    labelsEn: json<string[]>(META.labelsEn, strings),
    labelsZh: json<string[]>(META.labelsZh, strings),
    sampleRate: num(META.sampleRate),
    frameRate: num(META.frameRate),
    embedDim: num(META.embedDim),
    sourceModel: get(META.sourceModel),
    sourceRevision: get(META.sourceRevision),
    checkpointSha256: get(META.checkpointSha256),
    converterVersion: get(META.converterVersion),
    quantization,
    convSpec: json<[number, number, number][]>(
      META.convSpec,
      (v) => Array.isArray(v) && v.every((l) => Array.isArray(l) && l.length === 3 && l.every((n) => Number.isInteger(n) && n > 0)),
    ),
  };
}

/** Decodes a StringStringEntryProto (key = 1, value = 2). */
function decodeEntry(bytes: Uint8Array): [string, string] | undefined {
  let pos = 0;
  let key = '';
  let value = '';
  const text = new TextDecoder();
  while (pos < bytes.length) {
    const tag = readVarint(bytes, pos);
    if (!tag || (Number(tag.value) & 7) !== WIRE_LEN) return undefined;
    const len = readVarint(bytes, tag.next);
    if (!len || len.next + Number(len.value) > bytes.length) return undefined;
    const s = text.decode(bytes.subarray(len.next, len.next + Number(len.value)));
    const field = Number(tag.value) >> 3;
    if (field === 1) key = s;
    else if (field === 2) value = s;
    pos = len.next + Number(len.value);
  }
  return [key, value];
}

const METADATA_PROPS_FIELD = 14;
const MAX_ENTRY = 1 << 20;

/** All metadata_props of an ONNX file, reading only top-level fields. */
export async function readMetadataProps(path: string): Promise<Map<string, string>> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new VoicemoodError(
        'model_missing',
        `There is no model file at ${path}. Convert or download one first (\`voicemood model convert\` / \`voicemood model pull\`).`,
        {
          details: { path },
          cause: e,
        },
      );
    }
    throw e;
  }
  try {
    const size = (await fh.stat()).size;
    const props = new Map<string, string>();
    const head = new Uint8Array(20);
    let pos = 0;
    while (pos < size) {
      const { bytesRead } = await fh.read(head, 0, head.length, pos);
      const view = head.subarray(0, bytesRead);
      const tag = readVarint(view, 0);
      if (!tag || tag.value === 0n) throw invalid(path, `bad field tag at byte ${pos}`);
      const field = Number(tag.value >> 3n);
      const wire = Number(tag.value & 7n);
      if (wire === WIRE_VARINT) {
        const v = readVarint(view, tag.next);
        if (!v) throw invalid(path, `bad varint at byte ${pos}`);
        pos += v.next;
      } else if (wire === WIRE_FIXED64) {
        pos += tag.next + 8;
      } else if (wire === WIRE_FIXED32) {
        pos += tag.next + 4;
      } else if (wire === WIRE_LEN) {
        const len = readVarint(view, tag.next);
        if (!len) throw invalid(path, `bad length at byte ${pos}`);
        const start = pos + len.next;
        const n = Number(len.value);
        if (start + n > size) throw invalid(path, 'truncated file');
        if (field === METADATA_PROPS_FIELD) {
          if (n > MAX_ENTRY) throw invalid(path, 'oversized metadata entry');
          const buf = new Uint8Array(n);
          await fh.read(buf, 0, n, start);
          const entry = decodeEntry(buf);
          if (!entry) throw invalid(path, 'bad metadata entry');
          props.set(entry[0], entry[1]);
        }
        pos = start + n;
      } else {
        throw invalid(path, `unsupported wire type ${wire} at byte ${pos}`);
      }
    }
    if (pos !== size) throw invalid(path, 'truncated file');
    return props;
  } finally {
    await fh.close();
  }
}

/** The voicemood metadata of a converted model (model_missing / model_invalid on failure). */
export async function readModelMetadata(path: string): Promise<ModelMetadata> {
  return parseMetadataProps(path, await readMetadataProps(path));
}
