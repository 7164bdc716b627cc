// Free functions named as torch.* and torch.nn.functional.*; each is one line over an ATen schema.
import { Tensor, tensorOp, tensorsOp, tidy } from "./tensor.js";
import { type DType, dtypeCode } from "./dtype.js";

// (An op table reads best as rows: the formatter leaves it.)
// prettier-ignore
const F = {
  cat: tensorOp("aten::cat"), stack: tensorOp("aten::stack"), where: tensorOp("aten::where.self"),
  conv2d: tensorOp("aten::conv2d"), convTranspose2d: tensorOp("aten::conv_transpose2d.input"),
  linear: tensorOp("aten::linear"), batchNorm: tensorOp("aten::batch_norm"), bernoulli: tensorOp("aten::bernoulli.p"),
  pad: tensorOp("aten::pad"), logSoftmax: tensorOp("aten::log_softmax.int"), softmax: tensorOp("aten::softmax.int"),
  crossEntropy: tensorOp("aten::cross_entropy_loss"), nllLoss: tensorOp("aten::nll_loss_nd"),
  avgPool2d: tensorOp("aten::avg_pool2d"), maxPool2d: tensorOp("aten::max_pool2d"),
  oneHot: tensorOp("aten::one_hot"), meshgrid: tensorsOp("aten::meshgrid.indexing"),
  pixelShuffle: tensorOp("aten::pixel_shuffle"), pixelUnshuffle: tensorOp("aten::pixel_unshuffle"),
  mseLoss: tensorOp("aten::mse_loss"), cdist: tensorOp("aten::cdist"),
};

export type Reduction = "none" | "mean" | "sum";
const reductionCode = (r: Reduction) => ({ none: 0, mean: 1, sum: 2 })[r];
type Pair = number | [number, number];
// A single int is passed as is: ATen expands it to both dims, and it crosses N-API cheaper than an array.
const pair = (p: Pair) => p;

export const cat = (tensors: Tensor[], dim = 0) => F.cat(tensors, dim);
export const stack = (tensors: Tensor[], dim = 0) => F.stack(tensors, dim);
/** where(cond, a, b): a where cond is true, else b. */
export const where = (cond: Tensor, a: Tensor, b: Tensor) => F.where(cond, a, b);
export const meshgrid = (tensors: Tensor[], indexing: "ij" | "xy" = "ij") => F.meshgrid(tensors, indexing);

export interface ConvOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}
// Options left out pass as undefined: the schema's defaults apply natively.
export const conv2d = (x: Tensor, w: Tensor, b: Tensor | null = null, o: ConvOptions = {}) => F.conv2d(x, w, b, o.stride, o.padding, o.dilation, o.groups);
export const convTranspose2d = (x: Tensor, w: Tensor, b: Tensor | null = null, o: ConvOptions & { outputPadding?: Pair } = {}) =>
  F.convTranspose2d(x, w, b, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.outputPadding ?? 0), o.groups ?? 1, pair(o.dilation ?? 1));
export const linear = (x: Tensor, w: Tensor, b: Tensor | null = null) => F.linear(x, w, b);
export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  training?: boolean;
  momentum?: number;
  eps?: number;
}
export const batchNorm = (x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, o: BatchNormOptions = {}) =>
  F.batchNorm(x, o.weight ?? null, o.bias ?? null, runningMean, runningVar, o.training ?? false, o.momentum ?? 0.1, o.eps ?? 1e-5, true);
/**
 * Inverted dropout, as aten::dropout, but with the mask drawn from this thread's generator (aten::dropout
 * draws from the process's one, which other threads share).
 */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  // bernoulli.p reads only its input's shape, dtype and device.
  return tidy(() => x.mul(F.bernoulli(x.detach(), 1 - p, null)).div(1 - p));
}
/** pad(x, [left, right, top, bottom, ...]) as torch.nn.functional.pad. */
export const pad = (x: Tensor, p: number[], mode: "constant" | "reflect" | "replicate" | "circular" = "constant", value = 0) =>
  F.pad(x, p, mode, mode === "constant" ? value : null);
export const logSoftmax = (x: Tensor, dim: number, dtype?: DType) => F.logSoftmax(x, dim, dtype ? dtypeCode(dtype) : null);
export const softmax = (x: Tensor, dim: number, dtype?: DType) => F.softmax(x, dim, dtype ? dtypeCode(dtype) : null);
export interface LossOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
}
/** Cross entropy of logits (N, C, ...) against class indices (N, ...). */
export const crossEntropy = (logits: Tensor, target: Tensor, o: LossOptions & { labelSmoothing?: number } = {}) =>
  F.crossEntropy(logits, target, o.weight ?? null, reductionCode(o.reduction ?? "mean"), o.ignoreIndex ?? -100, o.labelSmoothing ?? 0);
export const nllLoss = (logProbs: Tensor, target: Tensor, o: LossOptions = {}) =>
  F.nllLoss(logProbs, target, o.weight ?? null, reductionCode(o.reduction ?? "mean"), o.ignoreIndex ?? -100);
export const mseLoss = (a: Tensor, b: Tensor, reduction: Reduction = "mean") => F.mseLoss(a, b, reductionCode(reduction));
export const avgPool2d = (x: Tensor, kernel: Pair, stride?: Pair, padding: Pair = 0) => F.avgPool2d(x, pair(kernel), pair(stride ?? kernel), pair(padding));
export const maxPool2d = (x: Tensor, kernel: Pair, stride?: Pair, padding: Pair = 0) => F.maxPool2d(x, pair(kernel), pair(stride ?? kernel), pair(padding));
export const oneHot = (index: Tensor, numClasses = -1) => F.oneHot(index, numClasses);
export const pixelShuffle = (x: Tensor, r: number) => F.pixelShuffle(x, r);
export const pixelUnshuffle = (x: Tensor, r: number) => F.pixelUnshuffle(x, r);
export const cdist = (a: Tensor, b: Tensor, p = 2) => F.cdist(a, b, p, null);
export const sigmoid = (x: Tensor) => x.sigmoid();
export const logsigmoid = (x: Tensor) => x.logsigmoid();
export const softplus = (x: Tensor, beta = 1, threshold = 20) => x.softplus(beta, threshold);
export const relu = (x: Tensor) => x.relu();
export const elu = (x: Tensor, alpha = 1) => x.elu(alpha);
export const tanh = (x: Tensor) => x.tanh();
