// The invertible 1x1 convolution: inverse, initial rotation, and log-dets against the full Jacobian.
import { describe, expect, it } from "vitest";
import * as torch from "../../../lib/tensor/index.js";
import { ActNorm, type FlowLayer, InvertibleConv1x1, InvertibleConv1x1LU } from "../../../lib/models/flows/index.js";

const maxAbs = (t: torch.Tensor) => torch.tidy(() => t.abs().max().item());

/** log|det| of the Jacobian of x -> layer(x) for one example, built row by row with autograd. */
function jacobianLogAbsDet(layer: FlowLayer, x: torch.Tensor): number {
  return torch.tidy(() => {
    const xin = x.clone().requiresGrad_(true);
    const y = layer.forward(xin)[0].flatten();
    const rows: torch.Tensor[] = [];
    for (let i = 0; i < y.numel; i++) rows.push(torch.autograd.grad(y.select(0, i), xin, { retainGraph: true })[0]!.flatten());
    const J = torch.stack(rows);
    return torch.linalg.slogdet(J).logabsdet.item();
  });
}

/** Makes W a random non-orthogonal matrix (a rotation has log|det| 0, which would test nothing). */
function perturb(layer: InvertibleConv1x1 | InvertibleConv1x1LU): void {
  torch.tidy(() =>
    torch.noGrad(() => {
      for (const p of layer.parameters()) p.add_(torch.randnLike(p).mul(0.3));
      // and scale it, so |det W| moves well away from 1 whatever the draw
      if (layer instanceof InvertibleConv1x1LU) layer.getParameter("log_s").add_(1);
      else layer.getParameter("weight").mul_(3);
    }),
  );
}

describe.each([
  ["InvertibleConv1x1", (c: number, o = {}) => new InvertibleConv1x1(c, o)],
  ["InvertibleConv1x1LU", (c: number, o = {}) => new InvertibleConv1x1LU(c, o)],
] as const)("%s", (_name, make) => {
  it("starts as a rotation and inverts its forward map to 1e-5", () => {
    torch.manualSeed(3);
    const conv = make(6);
    const w = conv.weight();
    expect(w.shape).toEqual([6, 6]);
    expect(maxAbs(w.matmul(w.t()).sub(torch.eye(6)))).toBeLessThan(1e-5);
    perturb(conv);
    const x = torch.randn([4, 6, 5, 5]);
    const [y, ld] = conv.forward(x);
    expect(y.shape).toEqual([4, 6, 5, 5]);
    const [x2, ldInv] = conv.inverse(y);
    expect(maxAbs(x2.sub(x))).toBeLessThan(1e-5);
    expect(maxAbs(ld.add(ldInv))).toBeLessThan(1e-6);
    expect(ld.shape).toEqual([4]);
    conv.dispose();
  });

  it("has log-det = H*W*log|det W|, equal to log|det| of the full Jacobian (float64, C=2, H=W=2)", () => {
    torch.manualSeed(4);
    const conv = make(2, { dtype: "float64" });
    perturb(conv);
    const x = torch.randn([1, 2, 2, 2], { dtype: "float64" });
    const ld = conv.forward(x)[1].item();
    expect(Math.abs(ld)).toBeGreaterThan(0.5); // the perturbed W is no rotation
    expect(ld).toBeCloseTo(4 * torch.linalg.slogdet(conv.weight()).logabsdet.item(), 10);
    expect(jacobianLogAbsDet(conv, x)).toBeCloseTo(ld, 10);
    conv.dispose();
  });
});

describe("InvertibleConv1x1LU", () => {
  it("learns L (unit diagonal), U and log|s| with P and sign(s) fixed buffers", () => {
    const conv = new InvertibleConv1x1LU(3);
    expect(conv.namedParameters().map(([n]) => n)).toEqual(["lower", "upper", "log_s"]);
    expect(Object.keys(conv.stateDict()).sort()).toEqual(["log_s", "lower", "perm", "sign_s", "upper"]);
    expect(conv.forward(torch.randn([1, 3, 2, 2]))[1].item()).toBeCloseTo(4 * conv.getParameter("log_s").sum().item(), 5);
    // Entries outside the triangles do not act: changing them leaves W unchanged.
    const w0 = conv.weight().tolist();
    torch.noGrad(() => {
      conv.getParameter("lower").add_(torch.ones([3, 3]).triu());
      conv.getParameter("upper").add_(torch.ones([3, 3]).tril());
    });
    expect(conv.weight().tolist()).toEqual(w0);
    conv.dispose();
  });
});

describe("ActNorm log-det", () => {
  it("equals log|det| of the full Jacobian", () => {
    torch.manualSeed(5);
    const an = new ActNorm(2, { dtype: "float64" });
    an.forward(torch.randn([8, 2, 2, 2], { dtype: "float64" }).mul(3)); // data-dependent init
    const x = torch.randn([1, 2, 2, 2], { dtype: "float64" });
    const ld = an.forward(x)[1].item();
    expect(Math.abs(ld)).toBeGreaterThan(0.05);
    expect(jacobianLogAbsDet(an, x)).toBeCloseTo(ld, 10);
    an.dispose();
  });
});

describe("InvertibleConv1x1LU: Glow's LU parametrization", () => {
  it("assembles W = P L (U + diag(sign(s) exp(log|s|))) from P, sign(s) (fixed) and L, U, log|s| (learned)", () => {
    torch.tidy(() => {
      torch.manualSeed(6);
      const conv = new InvertibleConv1x1LU(5, { dtype: "float64" });
      perturb(conv);
      const sd = conv.stateDict();
      const eye = torch.eye(5, 5, { dtype: "float64" });
      const L = sd.lower!.tril(-1).add(eye);
      const U = sd.upper!.triu(1).add(sd.sign_s!.mul(sd.log_s!.exp()).diag());
      const W = sd.perm!.matmul(L).matmul(U);
      expect(maxAbs(conv.weight().sub(W))).toBeLessThan(1e-12);
      // P is a permutation and sign(s) a vector of signs: the buffers Glow keeps fixed
      expect(maxAbs(sd.perm!.matmul(sd.perm!.t()).sub(eye))).toBe(0);
      expect(sd.sign_s!.abs().toFlatArray()).toEqual([1, 1, 1, 1, 1]);
      conv.dispose();
    });
  });

  it("has log-det H*W*sum(log|s|), equal to H*W times slogdet of the assembled W (H != W)", () => {
    torch.tidy(() => {
      torch.manualSeed(7);
      const conv = new InvertibleConv1x1LU(4, { dtype: "float64" });
      perturb(conv);
      const x = torch.randn([2, 4, 3, 5], { dtype: "float64" });
      const [, ld] = conv.forward(x);
      const sumLogS = conv.getParameter("log_s").sum().item();
      const { sign, logabsdet } = torch.linalg.slogdet(conv.weight());
      expect(Math.abs(sign.item())).toBe(1);
      expect(Math.abs(sumLogS)).toBeGreaterThan(0.5);
      for (const v of ld.toFlatArray()) {
        expect(v).toBeCloseTo(15 * sumLogS, 10);
        expect(v).toBeCloseTo(15 * logabsdet.item(), 10);
      }
      conv.dispose();
    });
  });

  it("starts from the LU decomposition of a random rotation: log|s| sums to 0", () => {
    torch.tidy(() => {
      torch.manualSeed(8);
      const conv = new InvertibleConv1x1LU(6);
      expect(Math.abs(conv.getParameter("log_s").sum().item())).toBeLessThan(1e-5);
      conv.dispose();
    });
  });
});
