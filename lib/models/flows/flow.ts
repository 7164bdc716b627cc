// What every multi-scale flow shares once it can encode and decode: the change-of-variables
// log-likelihood, inversion and sampling.
import * as torch from "../../tensor/index.js";
import { type Tensor } from "../../tensor/index.js";
import { Module } from "../../nn/index.js";
import { changeOfVariables } from "./ops.js";
import { type DensityModel, type LogLikelihood, type ModelKind, dimsOf, LOG256 } from "../density.js";

export abstract class Flow extends Module implements DensityModel {
  abstract readonly kind: ModelKind;
  abstract readonly imageShape: readonly [number, number, number];
  /** x in [0, 1] -> codes (factored-out halves, then the top), log p(z) and log|det dz/dx|. */
  abstract encode(x: Tensor): { zs: Tensor[]; logPz: Tensor; logDet: Tensor };
  /** Codes -> images in [0, 1]; codes not given (null) are drawn from the prior, std times temperature. */
  abstract decode(zs: (Tensor | null)[] | null, n: number, temperature?: number): Tensor;

  /** log p(x) = log p(z) + log|det| - D log 256 (the dequantized density turned discrete). */
  objective(x: Tensor): LogLikelihood {
    const { logPz: pz, logDet } = this.encode(x);
    const { logPx, logPz } = changeOfVariables(x, pz, logDet); // -Infinity, not NaN, far from the data
    return { logPx: logPx.sub(dimsOf(this.imageShape) * LOG256), logPz, logDet };
  }

  logLikelihood(x: Tensor): LogLikelihood {
    return this.objective(x);
  }

  /** The images whose codes are zs (inverse(encode(x).zs) = x). */
  inverse(zs: Tensor[]): Tensor {
    return this.decode(zs, zs[0]!.shape[0]!);
  }

  sample(n: number, o: { temperature?: number } = {}): Tensor {
    return torch.noGrad(() => this.decode(null, n, o.temperature ?? 1).clamp(0, 1));
  }
}
