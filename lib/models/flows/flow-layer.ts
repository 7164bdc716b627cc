// The contract of every flow layer (ActNorm, the 1x1 convolutions, couplings, squeeze, splits,
// preprocessing): an invertible map that returns its log-det beside its output, so the paper's
// decomposition log p(x) = log p(z) + log|det| needs no extra code.
import { type Tensor } from "../../tensor/tensor.js";
import { zeros } from "../../tensor/creation.js";
import { type Module } from "../../nn/module.js";

export interface FlowLayer extends Module {
  /** y = f(x) and log|det ∂y/∂x| per example (shape [N]); a split also hands its factored-out code to `codes`. */
  forward(x: Tensor, codes?: FactoredCodes): [Tensor, Tensor];
  /** x = f⁻¹(y) and log|det ∂x/∂y| per example (the negative of forward's); a split takes its code back from `codes`. */
  inverse(y: Tensor, codes?: FactoredCodes): [Tensor, Tensor];
}

/**
 * The codes a multi-scale flow factors out on the way up, with their log-density under the splits'
 * priors; on the way down, the codes to put back (met last-first), null where one is to be drawn from
 * its prior with the standard deviation times `temperature`.
 */
export class FactoredCodes {
  readonly zs: Tensor[] = [];
  /** Sum of the factored-out codes' log p(z) ([N]), null before the first. */
  logPz: Tensor | null = null;
  /** Each factored-out code's own log p(z) ([N]), in the order they left. */
  readonly levelLogPz: Tensor[] = [];
  private remaining: number;

  constructor(
    private readonly given: readonly (Tensor | null)[] = [],
    readonly temperature = 1,
  ) {
    this.remaining = given.length;
  }

  add(z: Tensor, logPz: Tensor): void {
    this.zs.push(z);
    this.levelLogPz.push(logPz);
    this.logPz = this.logPz ? this.logPz.add(logPz) : logPz;
  }

  /** The code of the next split met on the way down, or null to draw it. */
  take(): Tensor | null {
    if (this.remaining === 0) return null;
    return this.given[--this.remaining] ?? null;
  }
}

/** The log-det of a volume-preserving layer: zeros [N] (adding it to a sum changes no bit). */
export const zeroLogDet = (x: Tensor): Tensor => zeros([x.shape[0]!], { dtype: x.dtype, device: x.device });
