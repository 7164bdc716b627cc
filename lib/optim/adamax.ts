// Adamax (Kingma & Ba 2015, §7.1) with PyTorch's semantics: the second moment is an exponentially
// weighted infinity norm u ← max(β2 u, |g| + eps); p ← p - lr/(1-β1ᵗ) · m / u.
import { type Tensor } from "../tensor/tensor.js";
import { Optimizer, type BaseHyper, type ParamGroup, type ParamGroupInput, type ParamState } from "./optimizer.js";
import { ADAMAX_HYPER, given } from "./options.js";

export interface AdamaxHyper extends BaseHyper {
  betas: readonly [number, number];
  eps: number;
}

export class Adamax extends Optimizer<AdamaxHyper> {
  constructor(params: Tensor[] | ParamGroupInput<AdamaxHyper>[], o: Partial<AdamaxHyper> = {}) {
    super(params, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...given(o) }, ADAMAX_HYPER);
  }

  protected initState(p: Tensor): Record<string, Tensor> {
    return { exp_avg: this.zerosLike(p), exp_inf: this.zerosLike(p) };
  }

  protected update(p: Tensor, g: Tensor, st: ParamState, h: ParamGroup<AdamaxHyper>): void {
    const [b1, b2] = h.betas;
    const grad = h.weightDecay ? g.add(p, h.weightDecay) : g;
    const m = st.tensors.exp_avg!;
    const u = st.tensors.exp_inf!;
    m.lerp_(grad, 1 - b1);
    u.copy_(u.mul_(b2).maximum(grad.abs().add_(h.eps)));
    p.addcdiv_(m, u, -h.lr / (1 - b1 ** st.step));
  }
}
