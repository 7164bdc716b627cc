// Shape and density helpers shared by the flows.
import type { Tensor } from "../../tensor/index.js";

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** [B, C, H, W] -> [B, 4C, H/2, W/2], each 2x2 patch into channels (Glow's and RealNVP's squeeze). */
export function squeeze2d(x: Tensor): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  if (h % 2 || w % 2) throw new Error(`squeeze needs even height and width, got ${h}x${w}`);
  return x.view(b, c, h / 2, 2, w / 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h / 2, w / 2);
}

/** The inverse of squeeze2d. */
export function unsqueeze2d(x: Tensor): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  return x.view(b, c / 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c / 4, h * 2, w * 2);
}

/** log N(z; 0, I) summed over all but the batch dim: [B]. */
export function standardNormalLogProb(z: Tensor): Tensor {
  const d = z.numel / z.shape[0]!;
  return z.square().flatten(1).sum(1).mul(-0.5).sub(d * HALF_LOG_2PI);
}

/** log N(z; mean, exp(logs)^2) summed over all but the batch dim: [B]. */
export function gaussianLogProb(z: Tensor, mean: Tensor, logs: Tensor): Tensor {
  const d = z.numel / z.shape[0]!;
  return z.sub(mean).mul(logs.neg().exp()).square().mul(-0.5).sub(logs).flatten(1).sum(1).sub(d * HALF_LOG_2PI);
}
