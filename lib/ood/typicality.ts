/**
 * The typicality test of Nalisnick, Matsukawa, Teh and Lakshminarayanan, "Detecting Out-of-Distribution
 * Inputs to Deep Generative Models Using Typicality" (2019). A batch of M inputs is in-distribution when its
 * mean negative log-likelihood is close to the model's entropy H, estimated on held-out in-distribution
 * data: the statistic is | (1/M) sum_m -log p(x_m) - H |. The threshold epsilon comes from a bootstrap: the
 * (1 - alpha) quantile of the statistic over batches of M drawn with replacement from held-out data.
 * For M = 1 the statistic is the per-example score | -log p(x) - H |.
 */
import { Rng } from "../data/index.js";

export const TYPICALITY_BATCH_SIZES = [1, 2, 5, 10, 25] as const;

/** H: the mean negative log-likelihood (nats) of held-out in-distribution data. */
export function entropyEstimate(heldOutLogPx: ArrayLike<number>): number {
  if (heldOutLogPx.length === 0) throw new RangeError("typicality: no held-out data to estimate the entropy from");
  let s = 0;
  for (let i = 0; i < heldOutLogPx.length; i++) s -= heldOutLogPx[i]!;
  return s / heldOutLogPx.length;
}

/** The statistic of each consecutive batch of `batchSize` examples (a last partial batch is dropped). */
export function typicalityStatistic(logPx: ArrayLike<number>, entropy: number, batchSize: number): Float64Array {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`typicality: batch size must be a positive integer, got ${batchSize}`);
  const out = new Float64Array(Math.floor(logPx.length / batchSize));
  for (let b = 0; b < out.length; b++) {
    let s = 0;
    for (let i = b * batchSize; i < (b + 1) * batchSize; i++) s -= logPx[i]!;
    out[b] = Math.abs(s / batchSize - entropy);
  }
  return out;
}

/** Bootstrap threshold epsilon: the (1 - alpha) quantile of the statistic over `draws` random held-out batches. */
export function bootstrapThreshold(
  heldOutLogPx: ArrayLike<number>,
  entropy: number,
  batchSize: number,
  o: { alpha?: number; draws?: number; seed?: number } = {},
): number {
  const alpha = o.alpha ?? 0.01,
    draws = o.draws ?? 2000;
  const rng = Rng.seeded(o.seed ?? 1);
  const n = heldOutLogPx.length;
  const stats = new Float64Array(draws);
  for (let k = 0; k < draws; k++) {
    let s = 0;
    for (let m = 0; m < batchSize; m++) s -= heldOutLogPx[rng.int(n)]!;
    stats[k] = Math.abs(s / batchSize - entropy);
  }
  stats.sort();
  return stats[Math.min(draws - 1, Math.ceil((1 - alpha) * draws) - 1)]!;
}
