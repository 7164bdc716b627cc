// BatchNorm2d: per-channel normalisation with batch statistics in training and running statistics in
// eval; the running mean/var are updated in place by LibTorch's batch_norm, as PyTorch.
import { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../tensor/autograd.js";
import { ones, scalar, zeros, type TensorOptions } from "../tensor/creation.js";
import { batchNorm } from "../tensor/functional.js";
import { Module } from "./module.js";

export interface BatchNorm2dOptions extends Pick<TensorOptions, "dtype" | "device"> {
  eps?: number;
  /** Weight of the new batch in the running averages: running = (1-momentum)*running + momentum*batch. */
  momentum?: number;
  /** Learned per-channel scale and shift (default true). */
  affine?: boolean;
  /** Keep running statistics for eval (default true); without them eval uses batch statistics too. */
  trackRunningStats?: boolean;
}

export class BatchNorm2d extends Module {
  readonly eps: number;
  readonly momentum: number;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    o: BatchNorm2dOptions = {},
  ) {
    super();
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum ?? 0.1;
    this.trackRunningStats = o.trackRunningStats ?? true;
    const f = { dtype: o.dtype, device: o.device };
    if (o.affine ?? true) {
      this.param("weight", ones([numFeatures], f));
      this.param("bias", zeros([numFeatures], f));
    }
    if (this.trackRunningStats) {
      // PyTorch's buffer names, so checkpoints line up with theirs.
      this.buffer("running_mean", zeros([numFeatures], f));
      this.buffer("running_var", ones([numFeatures], f));
      this.buffer("num_batches_tracked", scalar(0, { dtype: "int64", device: o.device }));
    }
  }
  get weight(): Tensor | null {
    return this.findParameter("weight");
  }
  get bias(): Tensor | null {
    return this.findParameter("bias");
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new Error(`BatchNorm2d: expected a 4-d input (N, C, H, W), got shape [${x.shape}]`);
    const stats = this.trackRunningStats;
    if (stats && this.training) noGrad(() => this.getBuffer("num_batches_tracked").add_(1));
    return batchNorm(x, stats ? this.getBuffer("running_mean") : null, stats ? this.getBuffer("running_var") : null, {
      weight: this.weight,
      bias: this.bias,
      training: this.training || !stats,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}
