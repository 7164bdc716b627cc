// Shape and density helpers shared by the flows.
import type { Tensor } from "../../tensor/index.js";

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** [B, C, H, W] -> [B, 4C, H/2, W/2], each 2x2 patch into channels (Glow's and RealNVP's squeeze). */
export function squeeze2d(x: Tensor): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  if (h % 2 || w % 2) throw new Error(`squeeze needs even height and width, got ${h}x${w}`);
  return x
    .view(b, c, h / 2, 2, w / 2, 2)
    .permute(0, 1, 3, 5, 2, 4)
    .reshape(b, c * 4, h / 2, w / 2);
}

/** The inverse of squeeze2d. */
export function unsqueeze2d(x: Tensor): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  return x
    .view(b, c / 4, 2, 2, h, w)
    .permute(0, 1, 4, 2, 5, 3)
    .reshape(b, c / 4, h * 2, w * 2);
}

/** log N(z; 0, I) summed over all but the batch dim: [B]. */
export function standardNormalLogProb(z: Tensor): Tensor {
  const d = z.numel / z.shape[0]!;
  return z
    .square()
    .flatten(1)
    .sum(1)
    .mul(-0.5)
    .sub(d * HALF_LOG_2PI);
}

/** log N(z; mean, exp(logs)^2) summed over all but the batch dim: [B]. */
export function gaussianLogProb(z: Tensor, mean: Tensor, logs: Tensor): Tensor {
  const d = z.numel / z.shape[0]!;
  return z
    .sub(mean)
    .mul(logs.neg().exp())
    .square()
    .mul(-0.5)
    .sub(logs)
    .flatten(1)
    .sum(1)
    .sub(d * HALF_LOG_2PI);
}

/**
 * log p(x) = log p(z) + log|det| per example, with log p(z) and log p(x) -Infinity where a finite input
 * gives no finite value. Far from the data a flow leaves float range: exp(s) overflows for s > 88.7
 * (float32), the code becomes infinite (log p(z) = -Infinity), and the next layer turns it into NaN
 * (0 * inf in a mask, inf - inf in a convolution's sum), so that log p(z) + log|det| is NaN. An input
 * outside a logit's support (RealNVP's preprocessing) gives NaN too, where the density is 0. logDet is
 * left as computed (it may be NaN there); finite values are untouched; NaN inputs still give NaN.
 */
export function changeOfVariables(x: Tensor, logPz: Tensor, logDet: Tensor): { logPx: Tensor; logPz: Tensor } {
  const logPx = logPz.add(logDet);
  const inputFinite = x.abs().flatten(1).amax(1).isfinite(); // amax propagates NaN
  const lost = logPx.isfinite().logicalNot().logicalAnd(inputFinite);
  const pzLost = logPz.isfinite().logicalNot().logicalAnd(inputFinite);
  return { logPx: logPx.where(lost.logicalNot(), -Infinity), logPz: logPz.where(pzLost.logicalNot(), -Infinity) };
}
