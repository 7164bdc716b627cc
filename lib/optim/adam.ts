// Adam with PyTorch's semantics: bias-corrected moments, eps added outside the square root,
// p ← p - lr/(1-β1ᵗ) · m / (sqrt(v)/sqrt(1-β2ᵗ) + eps). Weight decay is L2 (added to the gradient).
import { type Tensor } from "../tensor/tensor.js";
import { Optimizer, type BaseHyper, type ParamGroup, type ParamGroupInput, type ParamState } from "./optimizer.js";
import { ADAM_HYPER, given } from "./options.js";

export interface AdamHyper extends BaseHyper {
  betas: readonly [number, number];
  eps: number;
}

export class Adam extends Optimizer<AdamHyper> {
  constructor(params: Tensor[] | ParamGroupInput<AdamHyper>[], o: Partial<AdamHyper> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...given(o) }, ADAM_HYPER);
  }

  protected initState(p: Tensor): Record<string, Tensor> {
    return { exp_avg: this.zerosLike(p), exp_avg_sq: this.zerosLike(p) };
  }

  protected update(p: Tensor, g: Tensor, st: ParamState, h: ParamGroup<AdamHyper>): void {
    const [b1, b2] = h.betas;
    const grad = h.weightDecay ? g.add(p, h.weightDecay) : g;
    const m = st.tensors.exp_avg!;
    const v = st.tensors.exp_avg_sq!;
    m.lerp_(grad, 1 - b1); // m ← β1 m + (1-β1) g
    v.mul_(b2).addcmul_(grad, grad, 1 - b2); // v ← β2 v + (1-β2) g²
    const stepSize = h.lr / (1 - b1 ** st.step);
    const denom = v
      .sqrt()
      .div_(Math.sqrt(1 - b2 ** st.step))
      .add_(h.eps);
    p.addcdiv_(m, denom, -stepSize);
  }
}
