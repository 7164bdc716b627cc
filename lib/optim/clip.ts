// Gradient norms and clipping, as torch.nn.utils.clip_grad_norm_: one read-back from the device.
import { Tensor, tidy } from "../tensor/tensor.js";
import { noGrad } from "../tensor/autograd.js";
import { stack } from "../tensor/functional.js";

/** The total norm of the gradients (as if concatenated into one vector), a 0-d tensor, or null if none. */
function totalNorm(grads: Tensor[], normType: number): Tensor | null {
  if (grads.length === 0) return null;
  return stack(grads.map((g) => g.norm(normType))).norm(normType);
}

const gradsOf = (params: Tensor[]) => params.map((p) => p.grad).filter((g): g is Tensor => g !== null);

/**
 * clipGradNorm_ without reading anything back: the gradients are scaled on their device by
 * min(1, maxNorm / (norm + 1e-6)) and the total norm before clipping comes back as a 0-d tensor (in the
 * caller's scope), or null when no parameter has a gradient. maxNorm = Infinity only measures. This is what a
 * training loop on a GPU wants: the norm is read only when it is logged.
 */
export function clipGradNormLazy_(params: Tensor[], maxNorm: number, normType = 2): Tensor | null {
  const grads = gradsOf(params);
  const total = totalNorm(grads, normType);
  if (total && Number.isFinite(maxNorm)) {
    tidy(() =>
      noGrad(() => {
        const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
        for (const g of grads) g.mul_(coef);
      }),
    );
  }
  return total;
}

/** The total gradient norm over params (those without gradients skipped); 0 when none has one. */
export function gradNorm(params: Tensor[], normType = 2): number {
  return tidy(() => totalNorm(gradsOf(params), normType)?.item() ?? 0);
}

/**
 * Scales the gradients in place so their total norm is at most maxNorm (coefficient maxNorm/(norm+1e-6),
 * as PyTorch); returns the total norm before clipping. A non-finite norm is an error if asked, else the
 * gradients are scaled by the (NaN or 0) coefficient, as PyTorch does.
 */
export function clipGradNorm_(params: Tensor[], maxNorm: number, normType = 2, o: { errorIfNonfinite?: boolean } = {}): number {
  return tidy(() =>
    noGrad(() => {
      const grads = gradsOf(params);
      const total = totalNorm(grads, normType)?.item() ?? 0;
      if (o.errorIfNonfinite && !Number.isFinite(total)) throw new Error(`clipGradNorm_: the total norm of order ${normType} of the gradients is ${total}`);
      const coef = maxNorm / (total + 1e-6);
      if (!(coef >= 1)) for (const g of grads) g.mul_(coef);
      return total;
    }),
  );
}
