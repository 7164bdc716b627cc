// An affine coupling on vectors (the two-moons flows of the paper's appendix D): a fixed binary mask
// over the D features, the masked-in ones conditioning an MLP that scales and shifts the others.
// Works on [N, D, 1, 1], the shape ActNorm and the 1x1 convolution take, so all three chain.
import * as torch from "../../tensor/index.js";
import { type Tensor } from "../../tensor/index.js";
import { Module, Linear } from "../../nn/index.js";
import * as init from "../../nn/init.js";
import { type FlowLayer } from "./flow-layer.js";
import { type CouplingScale } from "./coupling.js";

export class VectorCoupling extends Module implements FlowLayer {
  readonly l1: Linear;
  readonly l2: Linear;
  readonly l3: Linear;
  constructor(
    readonly dims: number,
    parity: 0 | 1,
    hidden: number,
    readonly scale: CouplingScale,
  ) {
    super();
    this.l1 = this.module("l1", new Linear(dims, hidden));
    this.l2 = this.module("l2", new Linear(hidden, hidden));
    this.l3 = this.module("l3", new Linear(hidden, 2 * dims));
    init.zeros_(this.l3.weight);
    init.zeros_(this.l3.bias!);
    this.buffer(
      "mask",
      torch.tensor(
        Float32Array.from({ length: dims }, (_, i) => (i % 2 === parity ? 1 : 0)),
        { shape: [1, dims] },
      ),
      { persistent: false },
    );
  }

  /** Shift and log-scale of the masked-out features (0 on the masked-in ones). */
  private st(x: Tensor): [Tensor, Tensor] {
    const m = this.getBuffer("mask");
    const h = this.l3.forward(this.l2.forward(this.l1.forward(x.mul(m)).relu()).relu());
    const [shift, raw] = h.chunk(2, 1) as [Tensor, Tensor];
    const logs = this.scale === "sigmoid" ? raw.add(2).logsigmoid() : raw;
    const free = m.rsub(1);
    return [shift.mul(free), logs.mul(free)];
  }

  forward(x: Tensor): [Tensor, Tensor] {
    const v = this.vectors(x);
    const [shift, logs] = this.st(v);
    return [v.add(shift).mul(logs.exp()).view(x.shape), logs.sum(1)];
  }

  inverse(y: Tensor): [Tensor, Tensor] {
    const v = this.vectors(y);
    const [shift, logs] = this.st(v);
    return [v.mul(logs.neg().exp()).sub(shift).view(y.shape), logs.sum(1).neg()];
  }

  private vectors(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.dims || x.shape[2] !== 1 || x.shape[3] !== 1)
      throw new Error(`VectorCoupling(${this.dims}): expected input (N, ${this.dims}, 1, 1), got shape [${x.shape}]`);
    return x.view(x.shape[0]!, this.dims);
  }
}
