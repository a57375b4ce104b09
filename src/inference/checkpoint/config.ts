/**
 * config.yaml of an emotion2vec(+) checkpoint → the hyper-parameters the graph needs.
 * Field names follow FunASR's `model_conf` (and `model_conf.modalities.audio`); see
 * /work/shared/docs/emotion2vec.md. YAML 1.1 writers leave numbers such as `1e-05` as strings,
 * so numbers and booleans are read leniently; a missing field is an error that names it.
 */
import { parse } from 'yaml';
import { VoicemoodError } from '../../domain/errors.ts';
import { parseConvSpec, type ConvLayerSpec } from './convSpec.ts';

export interface Emotion2vecConfig {
  /** D: model width. */
  embedDim: number;
  /** H: attention heads (head size D/H). */
  numHeads: number;
  /** Number of main transformer blocks (`blocks.*`). */
  depth: number;
  mlpRatio: number;
  normEps: number;
  layerNormFirst: boolean;
  /** Normalise the waveform to zero mean / unit variance first. */
  normalize: boolean;
  /** (channels, kernel, stride) of each local-encoder conv layer. */
  featureEncoderSpec: ConvLayerSpec[];
  convPosWidth: number;
  convPosDepth: number;
  convPosGroups: number;
  convPosPreLn: boolean;
  /** Number of context-encoder (pre-net) blocks. */
  prenetDepth: number;
  /** E: learned tokens prepended to the frames. */
  numExtraTokens: number;
  useAlibiEncoder: boolean;
  numAlibiHeads: number;
  learnedAlibiScale: boolean;
  learnedAlibiScalePerLayer: boolean;
  learnedAlibiScalePerHead: boolean;
}

const MAX_CONFIG_BYTES = 1024 * 1024;

type Fields = Record<string, unknown>;

function missing(path: string): VoicemoodError {
  return new VoicemoodError('model_invalid', `config.yaml has no ${path}, which the converter needs.`, { details: { field: path } });
}

function wrong(path: string, expected: string, value: unknown): VoicemoodError {
  return new VoicemoodError('model_invalid', `config.yaml has ${path} = ${JSON.stringify(value)?.slice(0, 80)}, but it should be ${expected}.`, {
    details: { field: path },
  });
}

function section(obj: unknown, path: string): Fields {
  if (obj === undefined || obj === null) throw missing(path);
  if (typeof obj !== 'object' || Array.isArray(obj)) throw wrong(path, 'a section', obj);
  return obj as Fields;
}

/** Numbers as numbers, or as the strings YAML 1.1 leaves them as ("1e-05", " 4.0 "). */
function number(fields: Fields, key: string, prefix: string): number {
  const v = fields[key];
  const path = prefix + key;
  if (v === undefined || v === null) throw missing(path);
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw wrong(path, 'a number', v);
  return n;
}

function integer(fields: Fields, key: string, prefix: string, min: number): number {
  const n = number(fields, key, prefix);
  if (!Number.isSafeInteger(n) || n < min) throw wrong(prefix + key, `a whole number of at least ${min}`, fields[key]);
  return n;
}

function boolean(fields: Fields, key: string, prefix: string): boolean {
  const v = fields[key];
  if (v === undefined || v === null) throw missing(prefix + key);
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|yes|on)$/i.test(v.trim())) return true;
  if (typeof v === 'string' && /^(false|no|off)$/i.test(v.trim())) return false;
  throw wrong(prefix + key, 'true or false', v);
}

function convSpec(fields: Fields, key: string, prefix: string): ConvLayerSpec[] {
  const v = fields[key];
  if (v === undefined || v === null) throw missing(prefix + key);
  if (typeof v === 'string') return parseConvSpec(v);
  // Some writers store it as a real YAML list of [c, k, s]: accept that too.
  if (Array.isArray(v)) return parseConvSpec(JSON.stringify(v).replace(/\[(\d+),(\d+),(\d+)\]/g, '($1,$2,$3)'));
  throw wrong(prefix + key, 'a list of (channels, kernel, stride)', v);
}

export function parseEmotion2vecConfig(text: string): Emotion2vecConfig {
  if (text.length > MAX_CONFIG_BYTES) throw new VoicemoodError('model_invalid', 'config.yaml is implausibly large.');
  let doc: unknown;
  try {
    doc = parse(text, { logLevel: 'error' });
  } catch (e) {
    throw new VoicemoodError('model_invalid', 'config.yaml is not valid YAML.', { cause: e });
  }
  const model = section(section(doc, '(document)').model_conf, 'model_conf');
  const audio = section(section(model.modalities, 'model_conf.modalities').audio, 'model_conf.modalities.audio');
  const m = 'model_conf.';
  const a = 'model_conf.modalities.audio.';
  const numHeads = integer(model, 'num_heads', m, 1);
  const config: Emotion2vecConfig = {
    embedDim: integer(model, 'embed_dim', m, 1),
    numHeads,
    depth: integer(model, 'depth', m, 0),
    mlpRatio: number(model, 'mlp_ratio', m),
    normEps: number(model, 'norm_eps', m),
    layerNormFirst: boolean(model, 'layer_norm_first', m),
    normalize: boolean(model, 'normalize', m),
    featureEncoderSpec: convSpec(audio, 'feature_encoder_spec', a),
    convPosWidth: integer(audio, 'conv_pos_width', a, 1),
    convPosDepth: integer(audio, 'conv_pos_depth', a, 1),
    convPosGroups: integer(audio, 'conv_pos_groups', a, 1),
    convPosPreLn: boolean(audio, 'conv_pos_pre_ln', a),
    prenetDepth: integer(audio, 'prenet_depth', a, 0),
    numExtraTokens: integer(audio, 'num_extra_tokens', a, 0),
    useAlibiEncoder: boolean(audio, 'use_alibi_encoder', a),
    // FunASR defaults num_alibi_heads to the model's head count.
    numAlibiHeads: audio.num_alibi_heads === undefined || audio.num_alibi_heads === null ? numHeads : integer(audio, 'num_alibi_heads', a, 1),
    learnedAlibiScale: boolean(audio, 'learned_alibi_scale', a),
    learnedAlibiScalePerLayer: boolean(audio, 'learned_alibi_scale_per_layer', a),
    learnedAlibiScalePerHead: boolean(audio, 'learned_alibi_scale_per_head', a),
  };
  if (config.embedDim % config.numHeads !== 0) throw wrong(`${m}embed_dim`, `a multiple of num_heads (${config.numHeads})`, config.embedDim);
  if (config.embedDim % config.convPosGroups !== 0) throw wrong(`${a}conv_pos_groups`, `a divisor of embed_dim (${config.embedDim})`, config.convPosGroups);
  if (!(config.normEps > 0)) throw wrong(`${m}norm_eps`, 'a positive number', model.norm_eps);
  if (!(config.mlpRatio > 0)) throw wrong(`${m}mlp_ratio`, 'a positive number', model.mlp_ratio);
  return config;
}
