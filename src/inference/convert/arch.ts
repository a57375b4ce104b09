/**
 * The architecture numbers the emotion2vec graph is built from: the subset of config.yaml that
 * inference needs, plus the label mask. `checkpointTensors` lists every tensor the graph reads,
 * with its expected shape, so a converter can check a checkpoint before writing anything.
 */

export type ConvLayerSpec = [channels: number, kernel: number, stride: number];

export interface Emotion2vecArch {
  embedDim: number;
  numHeads: number;
  /** Main blocks (`blocks.{i}`). */
  depth: number;
  /** Pre-net blocks (`modality_encoders.AUDIO.context_encoder.blocks.{i}`). */
  prenetDepth: number;
  mlpRatio: number;
  normEps: number;
  /** Normalise the waveform to zero mean, unit variance first. */
  normalize: boolean;
  convSpec: ConvLayerSpec[];
  convPosWidth: number;
  convPosDepth: number;
  convPosGroups: number;
  numExtraTokens: number;
  /** Rows of alibi_scale: 1 (shared by every block) or prenetDepth + depth (one per block). */
  alibiScaleLayers: number;
  /** alibi_scale has one value per head (else one per layer, broadcast over heads). */
  alibiScalePerHead: boolean;
  /** One entry per output label; true = `unuse*` label, forced to logit -inf. */
  labelMask: boolean[];
}

/** Kernel of each positional conv: max(3, conv_pos_width // conv_pos_depth). */
export function convPosKernel(a: Emotion2vecArch): number {
  return Math.max(3, Math.floor(a.convPosWidth / a.convPosDepth));
}

export function mlpHidden(a: Emotion2vecArch): number {
  return Math.floor(a.embedDim * a.mlpRatio);
}

/** Total stride of the local encoder: samples per frame (320 for the published spec). */
export function samplesPerFrame(a: Pick<Emotion2vecArch, 'convSpec'>): number {
  return a.convSpec.reduce((p, [, , s]) => p * s, 1);
}

/** Samples one frame of the local encoder sees: 1 + Σ (kernel − 1) × (stride of the layers before), 400 for the published spec. */
export function receptiveField(a: Pick<Emotion2vecArch, 'convSpec'>): number {
  let field = 1;
  let stride = 1;
  for (const [, k, s] of a.convSpec) {
    field += (k - 1) * stride;
    stride *= s;
  }
  return field;
}

/** Frames the local encoder makes from `samples` samples (0 when too short). */
export function frameCount(a: Pick<Emotion2vecArch, 'convSpec'>, samples: number): number {
  let t = samples;
  for (const [, k, s] of a.convSpec) t = t < k ? 0 : Math.floor((t - k) / s) + 1;
  return t;
}

export const AUDIO = 'modality_encoders.AUDIO';

/** Every checkpoint tensor the graph uses, with its shape, in the order the graph reads them. */
export function checkpointTensors(a: Emotion2vecArch): { key: string; shape: number[] }[] {
  const D = a.embedDim;
  const out: { key: string; shape: number[] }[] = [];
  const add = (key: string, shape: number[]) => out.push({ key, shape });
  let cin = 1;
  a.convSpec.forEach(([c, k], i) => {
    add(`${AUDIO}.local_encoder.conv_layers.${i}.0.weight`, [c, cin, k]);
    add(`${AUDIO}.local_encoder.conv_layers.${i}.2.1.weight`, [c]);
    add(`${AUDIO}.local_encoder.conv_layers.${i}.2.1.bias`, [c]);
    cin = c;
  });
  add(`${AUDIO}.project_features.1.weight`, [cin]);
  add(`${AUDIO}.project_features.1.bias`, [cin]);
  add(`${AUDIO}.project_features.2.weight`, [D, cin]);
  add(`${AUDIO}.project_features.2.bias`, [D]);
  const k = convPosKernel(a);
  for (let j = 1; j <= a.convPosDepth; j++) {
    add(`${AUDIO}.relative_positional_encoder.${j}.0.weight`, [D, D / a.convPosGroups, k]);
    add(`${AUDIO}.relative_positional_encoder.${j}.0.bias`, [D]);
  }
  add(`${AUDIO}.alibi_scale`, [a.alibiScaleLayers, 1, a.alibiScalePerHead ? a.numHeads : 1, 1, 1]);
  add(`${AUDIO}.extra_tokens`, [1, a.numExtraTokens, D]);
  add(`${AUDIO}.context_encoder.norm.weight`, [D]);
  add(`${AUDIO}.context_encoder.norm.bias`, [D]);
  const block = (prefix: string) => {
    const hidden = mlpHidden(a);
    add(`${prefix}.attn.qkv.weight`, [3 * D, D]);
    add(`${prefix}.attn.qkv.bias`, [3 * D]);
    add(`${prefix}.attn.proj.weight`, [D, D]);
    add(`${prefix}.attn.proj.bias`, [D]);
    add(`${prefix}.norm1.weight`, [D]);
    add(`${prefix}.norm1.bias`, [D]);
    add(`${prefix}.mlp.fc1.weight`, [hidden, D]);
    add(`${prefix}.mlp.fc1.bias`, [hidden]);
    add(`${prefix}.mlp.fc2.weight`, [D, hidden]);
    add(`${prefix}.mlp.fc2.bias`, [D]);
    add(`${prefix}.norm2.weight`, [D]);
    add(`${prefix}.norm2.bias`, [D]);
  };
  for (let i = 0; i < a.prenetDepth; i++) block(`${AUDIO}.context_encoder.blocks.${i}`);
  for (let i = 0; i < a.depth; i++) block(`blocks.${i}`);
  add('proj.weight', [a.labelMask.length, D]);
  add('proj.bias', [a.labelMask.length]);
  return out;
}

/** Throws RangeError describing the first inconsistency (the converter turns it into a user error). */
export function validateArch(a: Emotion2vecArch): void {
  const posInt = (n: number, what: string) => {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
  };
  for (const [n, what] of [
    [a.embedDim, 'embed_dim'],
    [a.numHeads, 'num_heads'],
    [a.depth, 'depth'],
    [a.prenetDepth, 'prenet_depth'],
    [a.convPosDepth, 'conv_pos_depth'],
    [a.convPosGroups, 'conv_pos_groups'],
    [a.numExtraTokens, 'num_extra_tokens'],
  ] as const)
    posInt(n, what);
  if (a.embedDim < 1 || a.numHeads < 1 || a.embedDim % a.numHeads !== 0)
    throw new RangeError(`embed_dim ${a.embedDim} must be a multiple of num_heads ${a.numHeads}`);
  if (a.convPosGroups < 1 || a.embedDim % a.convPosGroups !== 0)
    throw new RangeError(`embed_dim ${a.embedDim} must be a multiple of conv_pos_groups ${a.convPosGroups}`);
  if (a.convSpec.length === 0) throw new RangeError('feature_encoder_spec is empty');
  for (const l of a.convSpec)
    if (l.length !== 3 || l.some((n) => !Number.isInteger(n) || n < 1)) throw new RangeError(`bad feature_encoder_spec layer ${JSON.stringify(l)}`);
  const layers = a.prenetDepth + a.depth;
  if (a.alibiScaleLayers !== 1 && a.alibiScaleLayers !== layers) throw new RangeError(`alibi scale rows must be 1 or ${layers}, got ${a.alibiScaleLayers}`);
  if (a.labelMask.length < 1) throw new RangeError('no labels');
  if (a.labelMask.every((m) => m)) throw new RangeError('every label is masked');
}
