/**
 * Multi-head attention with ALiBi, run over blocks of queries by an ONNX Loop.
 *
 * Why blocks: the whole score matrix [B, H, S, S] grows with the square of the clip. For a 60 s
 * segment (S ≈ 3000 frames, 12 heads) each such tensor is 430 MB, and the bias, the scores and
 * their softmax were alive at once: 1.7 GB of RSS for one voice note with the base model. In
 * blocks of QUERY_BLOCK queries only [B, H, QUERY_BLOCK, S] tensors exist at a time, so memory
 * grows linearly with the clip.
 *
 * Exact: softmax is taken per query row over all keys, which a block of rows has whole. The
 * ALiBi bias of a block is made inside the loop, one multiplication of the block's rows of the
 * masked distance matrix [B, 1, S, S] (−|i − j|, −inf for padded keys; made once for all layers)
 * by the layer's slopes, instead of once for the whole [B, H, S, S].
 */
import { attr } from '../onnx/graph.ts';
import type { Layers } from './layers.ts';

/**
 * Most queries per Loop iteration. Clips up to ~10 s (S ≤ 512) run in one block, as fast as
 * unblocked attention; longer ones in even blocks of at most 512 rows ([B, H, ≤ 512, S] scores:
 * 72 MB for a 60 s segment at B = 1, 12 heads). Smaller blocks cost time: 128 made a 5 s clip
 * (two blocks) ~10 % slower.
 */
export const QUERY_BLOCK = 512;

/**
 * [B, 1, S, S]: −|i − j| between frames (0 in the rows and columns of the extra tokens), −inf for
 * padded keys. Slopes must be > 0 (0 × −inf is NaN): emotion2vecGraph clamps them at 1e-30.
 */
export type MaskedDistance = string;

/** How a sequence of S positions is cut into query blocks; the same for every layer, so made once. */
export interface QueryBlocks {
  /** Number of blocks, rows per block (int64 scalars). */
  blocks: string;
  rows: string;
  /** Pad of a [B, H, S, dh] tensor to blocks × rows rows (int64 [8]). */
  pads: string;
  /** The masked distance with as many rows: [B, 1, blocks rows, S]. */
  distance: string;
  /** [1]: S, where the padded rows end. */
  end: string;
}

/**
 * Plans the blocks for sequences of `S` (int64 scalar) positions: ceil(S / queryBlock) blocks of
 * ceil(S / blocks) rows, i.e. one block of S rows for short clips.
 */
export function planQueryBlocks(L: Layers, S: string, distance: MaskedDistance, queryBlock = QUERY_BLOCK): QueryBlocks {
  if (!Number.isInteger(queryBlock) || queryBlock < 1) throw new RangeError(`query block must be a positive integer, got ${queryBlock}`);
  const g = L.g;
  const blocks = g.op('Max', [L.ceilDiv(S, L.int(queryBlock)), L.int(1)]);
  const rows = g.op('Max', [L.ceilDiv(S, blocks), L.int(1)]);
  // Query rows padded to a whole number of blocks (the padding rows are dropped at the end).
  const padRows = g.op('Unsqueeze', [g.op('Sub', [g.op('Mul', [blocks, rows]), S]), L.ints([0])]);
  const pads = g.op('Concat', [L.ints([0, 0, 0, 0, 0, 0]), padRows, L.ints([0])], { axis: 0 });
  return { blocks, rows, pads, distance: g.op('Pad', [distance, pads]), end: g.op('Unsqueeze', [S, L.ints([0])]) };
}

/**
 * q, k, v [B, H, S, dh] (q not yet scaled), `slope` [1, H, 1, 1] → attention output merged over
 * the heads, [B, S, H dh].
 */
export function blockedAttention(
  L: Layers,
  plan: QueryBlocks,
  q: string,
  k: string,
  v: string,
  slope: string,
  dims: { heads: number; headDim: number },
): string {
  const g = L.g;
  const D = dims.heads * dims.headDim;
  const qPadded = g.op('Pad', [q, plan.pads]);
  const body = g.subgraph(
    'attention_block',
    [
      { name: 'block', dataType: 'INT64', dims: [] },
      { name: 'cond_in', dataType: 'BOOL', dims: [] },
    ],
    ([block, condIn]) => {
      const start = g.op('Unsqueeze', [g.op('Mul', [block, plan.rows]), L.ints([0])]);
      const end = g.op('Add', [start, g.op('Unsqueeze', [plan.rows, L.ints([0])])]);
      const qb = g.op('Mul', [g.op('Slice', [qPadded, start, end, L.ints([2])]), L.f(dims.headDim ** -0.5)]); // [B, H, rows, dh]
      const bias = g.op('Mul', [g.op('Slice', [plan.distance, start, end, L.ints([2])]), slope]); // [B, H, rows, S]
      const scores = g.op('Add', [g.op('MatMul', [qb, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), bias]);
      const out = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]); // [B, H, rows, dh]
      return [
        { name: g.op('Identity', [condIn]), dataType: 'BOOL', dims: [] },
        { name: out, dataType: 'FLOAT', dims: ['batch', dims.heads, 'rows', dims.headDim] },
      ];
    },
  );
  const stacked = g.op('Loop', [plan.blocks, ''], { body: attr.graph(body) }); // [blocks, B, H, rows, dh]
  const merged = g.op('Reshape', [g.op('Transpose', [stacked], { perm: [1, 0, 3, 2, 4] }), L.ints([0, -1, D])]); // [B, blocks rows, D]
  return g.op('Slice', [merged, L.ints([0]), plan.end, L.ints([1])]);
}
