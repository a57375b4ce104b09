/**
 * The pure part of dynamic batching: which queued clips run together, how they are padded into
 * one [B, N] input, and how many frames a clip gives. No I/O, no timers: engine.ts drives it.
 */

export interface BatchLimits {
  /** Most rows in one batch. */
  maxBatch: number;
  /** Most padded samples in one batch (B × N); a single longer clip still runs, alone. */
  maxPaddedSamples: number;
  /**
   * How much longer than the shortest clip of a batch the longest may be (e.g. 1.5), so that
   * short clips are not padded to long ones…
   */
  maxPadRatio: number;
  /** …with this much slack in samples, since padding a few short clips costs little. */
  padSlackSamples: number;
}

/**
 * Picks the rows of the next batch from queued clip lengths, oldest first (`lengths[0]` is the
 * request that has waited longest). The oldest request is always in the batch, so none starves;
 * the others are taken by how close their length is to it while every limit holds.
 * Returns indices into `lengths`, in ascending order.
 */
export function pickBatch(lengths: readonly number[], limits: BatchLimits): number[] {
  if (lengths.length === 0) return [];
  const chosen = [0];
  let min = lengths[0];
  let max = lengths[0];
  const anchor = lengths[0];
  const candidates = lengths
    .map((length, index) => ({ length, index }))
    .slice(1)
    .sort((a, b) => Math.abs(a.length - anchor) - Math.abs(b.length - anchor) || a.index - b.index);
  for (const c of candidates) {
    if (chosen.length >= limits.maxBatch) break;
    const newMin = Math.min(min, c.length);
    const newMax = Math.max(max, c.length);
    if ((chosen.length + 1) * newMax > limits.maxPaddedSamples) continue;
    if (newMax > newMin * limits.maxPadRatio + limits.padSlackSamples) continue;
    chosen.push(c.index);
    min = newMin;
    max = newMax;
  }
  return chosen.sort((a, b) => a - b);
}

export interface PackedBatch {
  /** Row-major [rows, width], zero-padded. */
  waveform: Float32Array;
  lengths: BigInt64Array;
  rows: number;
  width: number;
}

/** Pads clips into one [B, N] input with their true lengths. */
export function packBatch(clips: readonly Float32Array[]): PackedBatch {
  const rows = clips.length;
  const width = clips.reduce((m, c) => Math.max(m, c.length), 0);
  const waveform = new Float32Array(rows * width);
  const lengths = new BigInt64Array(rows);
  clips.forEach((clip, r) => {
    waveform.set(clip, r * width);
    lengths[r] = BigInt(clip.length);
  });
  return { waveform, lengths, rows, width };
}

/** Frames that the conv feature encoder makes from `samples` samples (0 when too short). */
export function framesFor(samples: number, convSpec: readonly (readonly [number, number, number])[]): number {
  let t = samples;
  for (const [, kernel, stride] of convSpec) {
    if (t < kernel) return 0;
    t = Math.floor((t - kernel) / stride) + 1;
  }
  return t;
}

/** The fewest samples that give at least one frame (400 for the published conv spec). */
export function minSamplesFor(convSpec: readonly (readonly [number, number, number])[]): number {
  let need = 1;
  for (let i = convSpec.length - 1; i >= 0; i--) {
    const [, kernel, stride] = convSpec[i];
    need = (need - 1) * stride + kernel;
  }
  return need;
}
