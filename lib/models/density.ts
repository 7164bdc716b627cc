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
import type { Tensor } from "../tensor/index.js";
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

/** Bits per dimension from a discrete log-likelihood in nats: -log p(x) / (D ln 2). */
export const bitsPerDim = (logPx: Tensor, dims: number): Tensor => logPx.mul(-1 / (dims * Math.LN2));
export const toBitsPerDim = (logPx: number, dims: number): number => -logPx / (dims * Math.LN2);
