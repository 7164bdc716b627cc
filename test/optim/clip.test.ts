// Gradient norms and clipping, as torch.nn.utils.clip_grad_norm_.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { clipGradNorm_, clipGradNormLazy_, gradNorm } from "../../lib/optim/index.js";

/** Parameters whose gradients are [3, 4] and [12] (total 2-norm 13), plus one without a gradient. */
function params(): torch.Tensor[] {
  const a = torch.zeros([2], { dtype: "float64" }).requiresGrad_(true);
  const b = torch.zeros([1], { dtype: "float64" }).requiresGrad_(true);
  const none = torch.zeros([3], { dtype: "float64" }).requiresGrad_(true);
  a.mul(torch.tensor([3, 4], { dtype: "float64" }))
    .sum()
    .add(b.mul(12).sum())
    .backward();
  return [a, b, none];
}

describe("clipGradNorm_", () => {
  it("returns the total norm and scales the gradients down to maxNorm", () => {
    const ps = params();
    expect(gradNorm(ps)).toBeCloseTo(13, 12);
    const total = clipGradNorm_(ps, 6.5);
    expect(total).toBeCloseTo(13, 12);
    const coef = 6.5 / (13 + 1e-6);
    expect(ps[0]!.grad!.toFlatArray()).toEqual([3 * coef, 4 * coef].map((v) => expect.closeTo(v, 12)));
    expect(ps[1]!.grad!.item()).toBeCloseTo(12 * coef, 12);
    expect(gradNorm(ps)).toBeCloseTo(6.5, 5);
    expect(ps[2]!.grad).toBeNull();
  });

  it("leaves gradients under maxNorm alone", () => {
    const ps = params();
    expect(clipGradNorm_(ps, 100)).toBeCloseTo(13, 12);
    expect(ps[0]!.grad!.toFlatArray()).toEqual([3, 4]);
    expect(ps[1]!.grad!.toFlatArray()).toEqual([12]);
  });

  it("supports the infinity norm, no gradients at all, and an error for non-finite norms", () => {
    const ps = params();
    expect(gradNorm(ps, Infinity)).toBe(12);
    expect(clipGradNorm_(ps, 6, Infinity)).toBe(12);
    expect(ps[1]!.grad!.item()).toBeCloseTo(6, 5);
    expect(gradNorm([torch.zeros([2]).requiresGrad_(true)])).toBe(0);
    const bad = torch.zeros([1]).requiresGrad_(true);
    bad.mul(Infinity).sum().backward();
    expect(() => clipGradNorm_([bad], 1, 2, { errorIfNonfinite: true })).toThrow(/non|Infinity|NaN/);
  });
});

describe("clipGradNormLazy_", () => {
  it("scales exactly as clipGradNorm_ and returns the norm as a tensor, reading nothing back", () => {
    torch.tidy(() => {
      const make = () => {
        const p = torch.tensor([1, 2, 3], { dtype: "float64", requiresGrad: true }),
          q = torch.tensor([4], { dtype: "float64", requiresGrad: true });
        p.mul(torch.tensor([3, 0, 4], { dtype: "float64" }))
          .sum()
          .add(q.mul(12).sum())
          .backward(); // grads [3,0,4] and [12]: norm 13
        return [p, q];
      };
      const a = make(),
        b = make();
      const eager = clipGradNorm_(a, 6.5);
      const lazy = clipGradNormLazy_(b, 6.5)!;
      expect(lazy.item()).toBe(eager);
      expect(eager).toBeCloseTo(13, 12);
      for (let i = 0; i < 2; i++) expect(b[i]!.grad!.toFlatArray()).toEqual(a[i]!.grad!.toFlatArray());
      const c = make();
      expect(clipGradNormLazy_(c, Infinity)!.item()).toBeCloseTo(13, 12);
      expect(c[0]!.grad!.toFlatArray()).toEqual([3, 0, 4]); // Infinity only measures
      expect(clipGradNormLazy_([torch.ones([2], { requiresGrad: true })], 1)).toBeNull();
    });
  });
});
