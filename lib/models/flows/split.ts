// Split with prior (the multi-scale architecture of RealNVP and Glow): half the channels leave the flow
// as a code z, scored under a prior that may see the kept half (Glow's learned prior); decoding puts z
// back, drawing it from the prior where none is given. log p(z) goes to the codes, not the log-det.
import * as torch from "../../tensor/index.js";
import { type Tensor } from "../../tensor/index.js";
import { Module, Conv2d } from "../../nn/index.js";
import * as init from "../../nn/init.js";
import { type FactoredCodes, type FlowLayer, zeroLogDet } from "./flow-layer.js";
import { gaussianLogProb, standardNormalLogProb } from "./ops.js";

/** A code's prior: log N(z; mean, exp(logs)^2), its mean and log-std possibly given by a context. */
export interface CodePrior {
  /** [N] log-density of z; `context` is what a conditional prior sees (a split's kept half). */
  logProb(z: Tensor, context: Tensor | null): Tensor;
  /** A draw of the given shape, its noise's standard deviation times `temperature`. */
  sample(shape: readonly number[], context: Tensor | null, temperature: number, device: torch.Device): Tensor;
}

/** N(0, I). */
export const standardNormal: CodePrior = {
  logProb: (z) => standardNormalLogProb(z),
  sample: (shape, _context, temperature, device) => torch.randn([...shape], { device }).mul(temperature),
};

/** N(mean, exp(logs)^2) with mean and log-std from `params` (learned tensors, or a network of the context). */
export class GaussianPrior implements CodePrior {
  constructor(private readonly params: (context: Tensor | null) => [Tensor, Tensor]) {}
  logProb(z: Tensor, context: Tensor | null): Tensor {
    const [mean, logs] = this.params(context);
    return gaussianLogProb(z, mean, logs);
  }
  sample(shape: readonly number[], context: Tensor | null, temperature: number, device: torch.Device): Tensor {
    const [mean, logs] = this.params(context);
    return standardNormal.sample(shape, null, temperature, device).mul(logs.exp()).add(mean);
  }
}

/** Glow's learned split prior: mean and log-std of the factored-out half from a zero-initialised conv of the kept half. */
export class SplitPriorNet extends Module {
  readonly conv: Conv2d;
  constructor(channels: number) {
    super();
    this.conv = this.module("conv", new Conv2d(channels, 2 * channels, 3, { padding: 1, channelsLast: true }));
    init.zeros_(this.conv.weight);
    init.zeros_(this.conv.bias!);
  }
  /** [mean, log-std] of the factored-out half given the kept half. */
  params(kept: Tensor): [Tensor, Tensor] {
    const h = this.conv.forward(kept);
    return [h.slice(1, 0, null, 2), h.slice(1, 1, null, 2)];
  }
  /** As a CodePrior for a SplitWithPrior. */
  prior(): GaussianPrior {
    return new GaussianPrior((kept) => {
      if (!kept) throw new Error("SplitPriorNet: the prior of a factored-out half needs the kept half");
      return this.params(kept);
    });
  }
}

/** x -> its first half of channels (kept); the second half z leaves as a code with log p(z | kept). */
export class SplitWithPrior extends Module implements FlowLayer {
  constructor(readonly prior: CodePrior) {
    super();
  }

  forward(x: Tensor, codes?: FactoredCodes): [Tensor, Tensor] {
    const [kept, z] = x.chunk(2, 1) as [Tensor, Tensor];
    this.need(codes).add(z, this.prior.logProb(z, kept));
    return [kept, zeroLogDet(x)];
  }

  inverse(kept: Tensor, codes?: FactoredCodes): [Tensor, Tensor] {
    const c = this.need(codes);
    const z = c.take() ?? this.prior.sample(kept.shape, kept, c.temperature, kept.device);
    return [torch.cat([kept, z], 1), zeroLogDet(kept)];
  }

  private need(codes: FactoredCodes | undefined): FactoredCodes {
    if (!codes) throw new Error("SplitWithPrior: run it in a flow's chain with its FactoredCodes (the code leaves the flow here)");
    return codes;
  }
}
