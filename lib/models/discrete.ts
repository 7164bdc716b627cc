// Helpers of the models with a categorical distribution over pixel values (PixelCNN, the VAE's decoder).
// With `levels` = L possible values per sub-pixel (256 for 8-bit images), an input x in [0, 1] holds the
// value floor(L x) (dequantized (v + u) / L and bin centres (v + 0.5) / L both give v back), and samples
// are returned as bin centres (v + 0.5) / L.
import * as torch from "../tensor/index.js";
import type { Tensor } from "../tensor/index.js";

/** [B, C, H, W] in [0, 1] -> the pixel values 0..L-1, as floats. */
export const pixelValues = (x: Tensor, levels: number): Tensor =>
  x
    .mul(levels)
    .floor()
    .clamp(0, levels - 1);

/** Pixel values 0..L-1 -> a network input in [-1, 1]. */
export const centredInput = (v: Tensor, levels: number): Tensor => v.mul(2 / (levels - 1)).sub(1);

/** Pixel values 0..L-1 -> images in [0, 1] (bin centres). */
export const binCentres = (v: Tensor, levels: number): Tensor => v.add(0.5).div(levels);

/**
 * Logits [B, C*L, H, W] (channel c's L logits contiguous) -> [B, C, L, H, W] log-probabilities of
 * every value of every sub-pixel.
 */
export function categoricalLogProbs(logits: Tensor, channels: number, levels: number): Tensor {
  const [b, , h, w] = logits.shape as [number, number, number, number];
  return torch.logSoftmax(logits.view(b, channels, levels, h, w), 2);
}

/** log p(x) = sum over sub-pixels of the log-probability of the value x holds: [B] (nats). */
export function categoricalLogLikelihood(logits: Tensor, values: Tensor, levels: number): Tensor {
  const c = values.shape[1]!;
  const logp = categoricalLogProbs(logits, c, levels);
  return logp.gather(2, values.long().unsqueeze(2)).flatten(1).sum(1);
}

/** One draw per row from categoricals given by logits along `dim` (Gumbel-max), as float indices. */
export function sampleCategorical(logits: Tensor, dim: number, temperature = 1): Tensor {
  return torch.tidy(() => {
    const u = torch.randLike(logits).clamp(1e-20, 1 - 1e-7);
    const gumbel = u.log().neg().log().neg();
    return logits.div(temperature).add(gumbel).argmax(dim).float();
  });
}
