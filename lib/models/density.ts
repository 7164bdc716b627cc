// What every model of the paper gives per example, and the units the paper reports.
//
// Models take images as float tensors [B, C, H, W] with values in [0, 1]: dequantized pixels
// (x + u) / 256 with u ~ U[0, 1) in training, or bin centres (x + 0.5) / 256 (floor(256 x) recovers the
// 8-bit pixel exactly, which is what discrete models such as PixelCNN use).
//
// logPx is always the *discrete* log-likelihood of the 8-bit image in nats. For a flow with density
// p(x~) on [0, 1]^D: logPx = logPz + logDet - D log 256, where logDet is log|det dz/dx~| of the flow
// (preprocessing included) and logPz the prior's log-density of z. The paper's Figure 4 plots exactly
// these two terms.
import { isFloating, tidy, type Tensor } from "../tensor/index.js";
import type { ModelKind } from "./registry.js";

export type { ModelKind } from "./registry.js";

export interface LogLikelihood {
  /** [B] discrete log-likelihood, nats; flows: -Infinity, never NaN, where a finite input leaves float range. */
  logPx: Tensor;
  /** [B] flows: log-density of the code under the prior. */
  logPz?: Tensor;
  /** [B] flows: log|det| of the flow's Jacobian. */
  logDet?: Tensor;
  /** Multi-scale flows: log p(z) of each code ([B] each: the factored-out ones in order, then the top); they sum to logPz. */
  logPzLevels?: Tensor[];
}

export interface DensityModel {
  readonly kind: ModelKind;
  /** [C, H, W] of the images the model is built for. */
  readonly imageShape: readonly [number, number, number];
  /** The training objective per example (flows, PixelCNN: the log-likelihood; VAE: the ELBO). */
  objective(x: Tensor): LogLikelihood;
  /** The evaluation log-likelihood per example (VAE: importance-weighted estimate). */
  logLikelihood(x: Tensor): LogLikelihood;
  /** n images in [0, 1], [n, C, H, W]. */
  sample(n: number, opts?: { temperature?: number }): Tensor;
}

export const LOG256 = Math.log(256);

/** Number of dimensions D of an image shape. */
export const dimsOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

const checkDims = (dims: number) => {
  if (!Number.isInteger(dims) || dims < 1)
    throw new RangeError(`bitsPerDim: dims must be the number of dimensions D of an image (a positive integer, e.g. dimsOf(model.imageShape)), got ${dims}`);
};
/** Bits per dimension from a discrete log-likelihood in nats: -log p(x) / (D ln 2). */
export const bitsPerDim = (logPx: Tensor, dims: number): Tensor => (checkDims(dims), logPx.mul(-1 / (dims * Math.LN2)));
export const toBitsPerDim = (logPx: number, dims: number): number => (checkDims(dims), -logPx / (dims * Math.LN2));

const fmt = (s: readonly number[]) => `[${s.join(", ")}]`;

/**
 * What a model's objective and log-likelihood take: [B, C, H, W] floats of the model's [C, H, W]. Checked
 * once per call (shape and dtype, no pass over the values): convolutions would take any image size, and
 * 8-bit integers would be scored as if they were values in [0, 1].
 */
export function checkModelInput(model: Pick<DensityModel, "kind" | "imageShape">, x: Tensor): void {
  const [c, h, w] = model.imageShape;
  if (!isFloating(x.dtype))
    throw new TypeError(
      `${model.kind}: expected images as floats in [0, 1], got a ${x.dtype} tensor; ` +
        "pass (p + 0.5) / 256 for 8-bit pixels p (x.float().add(0.5).div(256)), or load them through the data pipeline (BatchLoader)",
    );
  if (x.ndim !== 4 || x.shape[1] !== c || x.shape[2] !== h || x.shape[3] !== w)
    throw new RangeError(
      `${model.kind}: this model scores images [B, C, H, W] = [B, ${c}, ${h}, ${w}], got ${fmt(x.shape)}; ` +
        `resize them to ${h}x${w} with ${c} channel${c === 1 ? "" : "s"}, or use a model trained on that size`,
    );
}

/** Sampling temperatures above this are far outside any use (Glow's paper uses 0.7 to 1) and overflow. */
export const MAX_TEMPERATURE = 10;

/** Checks sample()'s arguments: a positive integer count and a temperature in (0, MAX_TEMPERATURE]. */
export function checkSampleArgs(kind: string, n: number, o: { temperature?: number }): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${kind}.sample: n must be a positive integer, got ${n}`);
  const t = o.temperature ?? 1;
  if (typeof t !== "number" || !(t > 0 && t <= MAX_TEMPERATURE))
    throw new RangeError(`${kind}.sample: temperature must be a number in (0, ${MAX_TEMPERATURE}] (1: the model's own distribution), got ${t}`);
  return t;
}

/** Samples must be finite: a non-finite pixel is an error, not an image. One reduction per call. */
export function checkSamples(kind: string, x: Tensor, temperature: number): Tensor {
  if (!tidy(() => x.isfinite().all().item())) {
    x.dispose();
    throw new RangeError(`${kind}.sample: temperature ${temperature} gave non-finite pixels (the inverse overflowed); use a temperature nearer 1`);
  }
  return x;
}
