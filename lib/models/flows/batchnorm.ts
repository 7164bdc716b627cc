// Batch normalisation as a flow layer (RealNVP, Dinh et al. 2017): a per-channel affine map using the
// batch's statistics in training and running averages in evaluation, with its log-det
// H*W*sum_c(log gamma_c - 0.5 log(var_c + eps)).
import * as torch from "../../tensor/index.js";
import { type Tensor } from "../../tensor/index.js";
import { Module } from "../../nn/index.js";
import { type FlowLayer } from "./flow-layer.js";

export class FlowBatchNorm extends Module implements FlowLayer {
  constructor(
    readonly channels: number,
    readonly momentum = 0.05,
    readonly eps = 1e-4,
  ) {
    super();
    this.param("log_gamma", torch.zeros([1, channels, 1, 1]));
    this.param("beta", torch.zeros([1, channels, 1, 1]));
    this.buffer("running_mean", torch.zeros([1, channels, 1, 1]));
    this.buffer("running_var", torch.ones([1, channels, 1, 1]));
  }

  /** Mean and variance to normalise with; in training also updates the running averages. */
  private stats(x: Tensor): [Tensor, Tensor] {
    if (!this.training) return [this.getBuffer("running_mean"), this.getBuffer("running_var")];
    const mean = x.mean([0, 2, 3], true);
    const v = x.var([0, 2, 3], { correction: 0, keepdim: true });
    torch.noGrad(() => {
      this.getBuffer("running_mean").lerp_(mean.detach(), this.momentum);
      this.getBuffer("running_var").lerp_(v.detach(), this.momentum);
    });
    return [mean, v];
  }

  private logdet(v: Tensor, x: Tensor): Tensor {
    const [n, , h, w] = x.shape as [number, number, number, number];
    return this.getParameter("log_gamma")
      .sub(v.add(this.eps).log().mul(0.5))
      .sum()
      .mul(h * w)
      .expand([n]);
  }

  forward(x: Tensor): [Tensor, Tensor] {
    const [mean, v] = this.stats(x);
    const y = x.sub(mean).mul(v.add(this.eps).rsqrt()).mul(this.getParameter("log_gamma").exp()).add(this.getParameter("beta"));
    return [y, this.logdet(v, x)];
  }

  /** Inverts with the running statistics (evaluation mode), as sampling does. */
  inverse(y: Tensor): [Tensor, Tensor] {
    const mean = this.getBuffer("running_mean"),
      v = this.getBuffer("running_var");
    const x = y.sub(this.getParameter("beta")).mul(this.getParameter("log_gamma").neg().exp()).mul(v.add(this.eps).sqrt()).add(mean);
    return [x, this.logdet(v, y).neg()];
  }
}
