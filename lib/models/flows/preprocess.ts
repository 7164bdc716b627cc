// The maps from images in [0, 1] to where a flow's layers work, as flow layers: Glow centres the pixels
// (log-det 0), RealNVP takes logit(alpha + (1 - 2 alpha) x), whose log-det is part of log p(x).
import { type Tensor } from "../../tensor/tensor.js";
import { Module } from "../../nn/module.js";
import { type FlowLayer, zeroLogDet } from "./flow-layer.js";

/** x in [0, 1] -> x - 0.5 (Glow). */
export class CenterPixels extends Module implements FlowLayer {
  forward(x: Tensor): [Tensor, Tensor] {
    return [x.sub(0.5), zeroLogDet(x)];
  }
  inverse(y: Tensor): [Tensor, Tensor] {
    return [y.add(0.5), zeroLogDet(y)];
  }
}

/** x in [0, 1] -> logit(alpha + (1 - 2 alpha) x) (RealNVP): keeps the logit away from 0 and 1. */
export class LogitTransform extends Module implements FlowLayer {
  constructor(readonly alpha: number) {
    super();
  }

  forward(x: Tensor): [Tensor, Tensor] {
    const a = this.alpha;
    const p = x.mul(1 - 2 * a).add(a);
    const y = p.log().sub(p.rsub(1).log());
    return [y, this.logDetAt(p)];
  }

  inverse(y: Tensor): [Tensor, Tensor] {
    const p = y.sigmoid();
    return [p.sub(this.alpha).div(1 - 2 * this.alpha), this.logDetAt(p).neg()];
  }

  /** d/dx logit(a + (1-2a)x) = (1-2a) / (p (1-p)), summed in log over each example. */
  private logDetAt(p: Tensor): Tensor {
    return p
      .log()
      .add(p.rsub(1).log())
      .neg()
      .add(Math.log(1 - 2 * this.alpha))
      .flatten(1)
      .sum(1);
  }
}
