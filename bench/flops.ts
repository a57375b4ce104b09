/**
 * Multiply-add count of the emotion2vec forward pass for one clip, from the architecture alone
 * (2 FLOPs per multiply-add; element-wise work, softmax and norms are left out, they are
 * memory-bound and small). Used to turn a latency into an achieved FLOP rate.
 */
import type { Emotion2vecArch } from '../src/inference/convert/arch.ts';
import { convPosKernel, frameCount, mlpHidden } from '../src/inference/convert/arch.ts';

export interface FlopCount {
  /** Feature-encoder convolutions. */
  convEncoder: number;
  /** Feature projection + positional convolutions. */
  projectionAndPosConv: number;
  /** Transformer blocks: linear layers plus attention products. */
  transformer: number;
  total: number;
}

export function modelFlops(arch: Emotion2vecArch, samples: number): FlopCount {
  let t = samples;
  let cin = 1;
  let convEncoder = 0;
  for (const [c, k, s] of arch.convSpec) {
    t = t < k ? 0 : Math.floor((t - k) / s) + 1;
    convEncoder += 2 * t * c * cin * k;
    cin = c;
  }
  const T = frameCount(arch, samples);
  const D = arch.embedDim;
  const projectionAndPosConv = 2 * T * cin * D + arch.convPosDepth * 2 * T * D * (D / arch.convPosGroups) * convPosKernel(arch);
  const S = T + arch.numExtraTokens;
  const perBlock = 2 * S * D * (3 * D + D + 2 * mlpHidden(arch)) + 2 * 2 * S * S * D;
  const transformer = (arch.prenetDepth + arch.depth) * perBlock;
  return { convEncoder, projectionAndPosConv, transformer, total: convEncoder + projectionAndPosConv + transformer };
}
