// Gradient check helper for tests: autograd's gradient of a scalar function against central finite
// differences, in float64.
import * as torch from "../../lib/tensor/index.js";

export function maxGradError(f: (x: torch.Tensor) => torch.Tensor, x0: number[], shape: number[], eps = 1e-6): number {
  return torch.tidy(() => {
    const x = torch.tensor(Float64Array.from(x0), { shape }).requiresGrad_(true);
    const [g] = torch.autograd.grad(f(x).sum(), x);
    const analytic = g!.toFlatArray();
    let worst = 0;
    for (let i = 0; i < x0.length; i++) {
      const at = (d: number) =>
        torch.noGrad(() =>
          f(
            torch.tensor(
              Float64Array.from(x0, (v, j) => (j === i ? v + d : v)),
              { shape },
            ),
          )
            .sum()
            .item(),
        );
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      worst = Math.max(worst, Math.abs(numeric - analytic[i]!) / (1 + Math.abs(numeric)));
    }
    return worst;
  });
}
