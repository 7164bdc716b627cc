// RMSprop with PyTorch's semantics (eps added outside the square root; the average starts at zero).
import { type Tensor } from "../tensor/tensor.js";
import { Optimizer, type BaseHyper, type ParamGroup, type ParamGroupInput, type ParamState } from "./optimizer.js";
import { RMSPROP_HYPER, given } from "./options.js";

export interface RMSpropHyper extends BaseHyper {
  alpha: number;
  eps: number;
  momentum: number;
  /** Divide by the estimated variance (E[g²] - E[g]²) rather than E[g²]. */
  centered: boolean;
}

export class RMSprop extends Optimizer<RMSpropHyper> {
  constructor(params: Tensor[] | ParamGroupInput<RMSpropHyper>[], o: Partial<RMSpropHyper> = {}) {
    super(params, { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...given(o) }, RMSPROP_HYPER);
  }

  protected initState(p: Tensor, group: ParamGroup<RMSpropHyper>): Record<string, Tensor> {
    const s: Record<string, Tensor> = { square_avg: this.zerosLike(p) };
    if (group.momentum > 0) s.momentum_buffer = this.zerosLike(p);
    if (group.centered) s.grad_avg = this.zerosLike(p);
    return s;
  }

  protected update(p: Tensor, g: Tensor, st: ParamState, h: ParamGroup<RMSpropHyper>): void {
    const grad = h.weightDecay ? g.add(p, h.weightDecay) : g;
    const sq = st.tensors.square_avg!;
    sq.mul_(h.alpha).addcmul_(grad, grad, 1 - h.alpha); // E[g²] ← α E[g²] + (1-α) g²
    let avg: Tensor;
    if (h.centered) {
      const ga = st.tensors.grad_avg!;
      ga.lerp_(grad, 1 - h.alpha); // E[g] ← α E[g] + (1-α) g
      avg = sq.sub(ga.square()).sqrt().add_(h.eps);
    } else avg = sq.sqrt().add_(h.eps);
    if (h.momentum > 0) {
      const buf = st.tensors.momentum_buffer!;
      buf.mul_(h.momentum).addcdiv_(grad, avg);
      p.add_(buf, -h.lr);
    } else p.addcdiv_(grad, avg, -h.lr);
  }
}
