// Test helpers for flows: the exact log|det| of a map's Jacobian, built row by row with autograd.
import * as torch from "../../lib/tensor/index.js";

/** log|det J| of f at x (one example, any shape), J = d f(x) / d x, in float64. */
export function jacobianLogDet(f: (x: torch.Tensor) => torch.Tensor, x: torch.Tensor): number {
  return torch.tidy(() => {
    const xin = x.detach().double().requiresGrad_(true);
    const y = f(xin).flatten();
    const d = y.shape[0]!;
    const rows: torch.Tensor[] = [];
    for (let i = 0; i < d; i++) {
      const [g] = torch.autograd.grad(y.select(0, i), xin, { retainGraph: true, allowUnused: true });
      rows.push(g ? g.flatten() : torch.zeros([xin.numel], { dtype: "float64" }));
    }
    return torch.linalg.slogdet(torch.stack(rows)).logabsdet.item();
  });
}
