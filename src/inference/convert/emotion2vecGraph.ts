/**
 * The emotion2vec / emotion2vec+ forward pass (see docs/emotion2vec.md) as an ONNX
 * graph, batched exactly: every row gives what the same clip gives alone (up to float rounding).
 *   - normalisation statistics over each row's real samples only;
 *   - frames past a row's frame count are zeroed before each positional conv (the conv's zero
 *     padding of a lone clip), so padding cannot leak into real frames;
 *   - padded keys get -inf in attention (the extra tokens are always real);
 *   - the utterance embedding is the mean over real frames only.
 * Graph contract: src/inference/types.ts.
 */
import { GraphBuilder } from '../onnx/graph.ts';
import { alibiSlopes } from './alibi.ts';
import type { Emotion2vecArch } from './arch.ts';
import { AUDIO, convPosKernel, mlpHidden, validateArch } from './arch.ts';
import type { WeightSource } from './layers.ts';
import { Layers } from './layers.ts';
import { blockedAttention, planQueryBlocks } from './attention.ts';
import { localEncoder } from './localEncoder.ts';

export interface GraphOptions {
  /** int8: the linear layers and the feature-encoder convolutions (but the first) dynamically quantized. */
  quantization?: 'fp32' | 'int8';
  /** Output frames per row that the local encoder makes per Loop iteration (default CHUNK_FRAMES). */
  chunkFrames?: number;
  /** Queries per attention Loop iteration (default QUERY_BLOCK). */
  queryBlock?: number;
}

export function buildEmotion2vecGraph(arch: Emotion2vecArch, src: WeightSource, options: GraphOptions = {}): GraphBuilder {
  validateArch(arch);
  const g = new GraphBuilder('emotion2vec');
  // The label head is tiny and decides the scores directly, and the first conv works on the raw
  // waveform with 10 inputs per output: both stay float32.
  const L = new Layers(g, src, { quantization: options.quantization, keepFloat: ['proj', `${AUDIO}.local_encoder.conv_layers.0.0.weight`] });
  const D = arch.embedDim;
  const H = arch.numHeads;
  const E = arch.numExtraTokens;
  const eps = arch.normEps;
  const nLabels = arch.labelMask.length;

  const waveform = g.input('waveform', 'FLOAT', ['batch', 'samples']);
  const lengths = g.input('lengths', 'INT64', ['batch']);

  // 1. Normalise each row over its real samples; padding becomes exact zeros.
  const samples = L.lengthMask(lengths, L.dim(waveform, 1)).float;
  let x = g.op('Mul', [waveform, samples]);
  if (arch.normalize) {
    const count = g.op('Unsqueeze', [g.op('Max', [g.op('Cast', [lengths], { to: 1 }), L.f(1)]), L.ints([1])]);
    const mean = g.op('Div', [g.op('ReduceSum', [x, L.ints([1])], { keepdims: 1 }), count]);
    const centred = g.op('Mul', [g.op('Sub', [x, mean]), samples]);
    const variance = g.op('Div', [g.op('ReduceSum', [g.op('Mul', [centred, centred]), L.ints([1])], { keepdims: 1 }), count]);
    x = g.op('Div', [centred, g.op('Sqrt', [g.op('Add', [variance, L.f(1e-5)])])]);
  }

  // 2. Local encoder, time-major [B, T, C], run in time chunks (localEncoder.ts).
  const local = localEncoder(L, arch, x, lengths, options.chunkFrames);
  const feats = local.feats;
  let frameLen = local.frameLen;
  const cin = arch.convSpec[arch.convSpec.length - 1][0];

  const T = L.dim(feats, 1);
  frameLen = g.op('Min', [frameLen, T]);
  const frames = L.lengthMask(frameLen, T);
  const frameMask = g.op('Unsqueeze', [frames.float, L.ints([2])]); // [B, T, 1]

  // 3. Project features to D.
  x = L.linear(L.layerNorm(feats, `${AUDIO}.project_features.1`, cin, 1e-5), `${AUDIO}.project_features.2`, cin, D, frameMask); // [B, T, D]

  // 4. Convolutional relative position.
  const k = convPosKernel(arch);
  let p = x;
  for (let j = 1; j <= arch.convPosDepth; j++) {
    const prefix = `${AUDIO}.relative_positional_encoder.${j}.0`;
    const w = L.param(`${prefix}.weight`, [D, D / arch.convPosGroups, k]);
    const b = L.param(`${prefix}.bias`, [D]);
    const half = Math.floor(k / 2);
    let pc = g.op('Conv', [L.swap12(g.op('Mul', [p, frameMask])), w, b], { kernel_shape: [k], pads: [half, half], group: arch.convPosGroups });
    if (k % 2 === 0) pc = g.op('Slice', [pc, L.ints([0]), L.ints([-1]), L.ints([2])]);
    p = L.gelu(L.layerNormPlain(L.swap12(pc), D, 1e-5));
  }
  x = g.op('Add', [x, p]);

  // 5. ALiBi: -|i - j| over the frames, zero rows/columns for the extra tokens, -inf for padded keys.
  const pos = g.op('Cast', [g.op('Range', [L.int(0), T, L.int(1)])], { to: 1 });
  let distance = g.op('Neg', [g.op('Abs', [g.op('Sub', [g.op('Unsqueeze', [pos, L.ints([1])]), g.op('Unsqueeze', [pos, L.ints([0])])])])]);
  let keyMask = g.op('Where', [frames.bool, L.f(0), L.f(-Infinity)]); // [B, T]
  if (E > 0) {
    distance = g.op('Pad', [distance, L.ints([E, E, 0, 0])]);
    keyMask = g.op('Pad', [keyMask, L.ints([0, E, 0, 0])]);
  }
  // [B, 1, S, S], made once for every layer; the slopes multiply it per block of queries (attention.ts).
  const maskedDistance = g.op('Add', [g.op('Unsqueeze', [distance, L.ints([0, 1])]), g.op('Unsqueeze', [keyMask, L.ints([1, 2])])]);
  const scaleRead = src.tensor(`${AUDIO}.alibi_scale`, [arch.alibiScaleLayers, 1, arch.alibiScalePerHead ? H : 1, 1, 1]);
  const slopes = alibiSlopes(H);
  // slope[h] * max(scale[layer][h], 0), folded at conversion time into one [1, H, 1, 1] tensor per
  // row of alibi_scale, at least 1e-30: a slope of 0 would make 0 × (−inf) = NaN at padded keys,
  // while 1e-30 × |i − j| ≤ 1e-25 changes no logit.
  const slopeRows = Array.from({ length: arch.alibiScaleLayers }, (_, layer) =>
    g.weight(`alibi_slope_scaled.${layer}`, 'FLOAT', [1, H, 1, 1], async () => {
      const scale = await scaleRead();
      const perLayer = arch.alibiScalePerHead ? H : 1;
      return Float32Array.from(slopes, (s, h) => Math.max(Math.fround(s) * Math.max(scale[layer * perLayer + (arch.alibiScalePerHead ? h : 0)], 0), 1e-30));
    }),
  );
  const slopeOf = (layer: number) => slopeRows[arch.alibiScaleLayers === 1 ? 0 : layer];

  // 6. Extra tokens in front.
  if (E > 0) {
    const extra = L.param(`${AUDIO}.extra_tokens`, [1, E, D]);
    const shape = g.op('Concat', [g.op('Shape', [x], { start: 0, end: 1 }), L.ints([E, D])], { axis: 0 });
    x = g.op('Concat', [g.op('Expand', [extra, shape]), x], { axis: 1 });
  }

  // 7. Context encoder: LayerNorm, pre-net blocks, main blocks (post-LN).
  x = L.layerNorm(x, `${AUDIO}.context_encoder.norm`, D, eps);
  // Real positions of the sequence [B, E + T, 1] (int8 scales are taken over these only).
  const seqMask =
    options.quantization === 'int8'
      ? g.op('Unsqueeze', [E > 0 ? g.op('Pad', [frames.float, L.ints([0, E, 0, 0]), L.f(1)]) : frames.float, L.ints([2])])
      : undefined;
  // Query blocks (attention.ts) of the sequence of E + T positions, the same for every layer.
  const queryBlocks = planQueryBlocks(L, g.op('Add', [T, L.int(E)]), maskedDistance, options.queryBlock);
  const block = (input: string, prefix: string, slope: string): string => {
    const dh = D / H;
    const qkv = g.op('Transpose', [g.op('Reshape', [L.linear(input, `${prefix}.attn.qkv`, D, 3 * D, seqMask), L.ints([0, 0, 3, H, dh])])], {
      perm: [2, 0, 3, 1, 4],
    });
    const part = (i: number) => g.op('Gather', [qkv, L.int(i)], { axis: 0 }); // [B, H, S, dh]
    const merged = blockedAttention(L, queryBlocks, part(0), part(1), part(2), slope, { heads: H, headDim: dh }); // [B, S, D]
    let y = L.layerNorm(g.op('Add', [input, L.linear(merged, `${prefix}.attn.proj`, D, D, seqMask)]), `${prefix}.norm1`, D, eps);
    const mlp = L.linear(L.gelu(L.linear(y, `${prefix}.mlp.fc1`, D, mlpHidden(arch), seqMask)), `${prefix}.mlp.fc2`, mlpHidden(arch), D, seqMask);
    y = L.layerNorm(g.op('Add', [y, mlp]), `${prefix}.norm2`, D, eps);
    return y;
  };
  for (let i = 0; i < arch.prenetDepth; i++) x = block(x, `${AUDIO}.context_encoder.blocks.${i}`, slopeOf(i));
  for (let i = 0; i < arch.depth; i++) x = block(x, `blocks.${i}`, slopeOf(arch.prenetDepth + i));

  // 8. Drop the extra tokens; zero padded frames so the output is clean.
  let F = E > 0 ? g.op('Slice', [x, L.ints([E]), L.ints([2 ** 53 - 1]), L.ints([1])]) : x;
  F = g.op('Mul', [F, frameMask]);

  // 9. Utterance embedding, logits, scores; per-frame scores too.
  const frameCountF = g.op('Unsqueeze', [g.op('Max', [g.op('Cast', [frameLen], { to: 1 }), L.f(1)]), L.ints([1])]);
  const embedding = g.op('Div', [g.op('ReduceSum', [F, L.ints([1])], { keepdims: 0 }), frameCountF]);
  const labelMask = arch.labelMask.some((m) => m)
    ? L.g.constF(
        arch.labelMask.map((m) => (m ? -Infinity : 0)),
        [nLabels],
        'label_mask',
      )
    : undefined;
  const head = (v: string) => {
    const logits = L.linear(v, 'proj', D, nLabels);
    return labelMask ? g.op('Add', [logits, labelMask]) : logits;
  };
  const logits = head(embedding);
  const frameLogits = head(F);

  g.output(g.op('Softmax', [logits], { axis: -1 }), 'scores', 'FLOAT', ['batch', nLabels]);
  g.output(logits, 'logits', 'FLOAT', ['batch', nLabels]);
  g.output(embedding, 'embedding', 'FLOAT', ['batch', D]);
  g.output(F, 'frames', 'FLOAT', ['batch', 'frames', D]);
  g.output(g.op('Softmax', [frameLogits], { axis: -1 }), 'frame_scores', 'FLOAT', ['batch', 'frames', nLabels]);
  g.output(frameLen, 'frame_lengths', 'INT64', ['batch']);
  return g;
}
