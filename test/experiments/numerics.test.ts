// The numerical pieces of the analyses: alpha_c and Equation 6 on a hand-built CV-Glow, Hutchinson's
// estimator against an exact Hessian trace, histogram binning, graying, the ensemble's log-mean-exp.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { Glow, type GlowConfig } from "../../lib/models/glow/glow.js";
import { gray, grayDataset } from "../../lib/data/index.js";
import { histogram } from "../../lib/viz/plot.js";
import { alphaFromKernels, eq6Prediction, glowKernels, hutchinsonTrace, logDensityHvp, squeezedChannelSums } from "../../experiments/second-order.js";
import { logMeanExp } from "../../experiments/ensemble.js";
import { crossingsOf } from "../../experiments/logdet-split.js";

const cvGlow = (o: Partial<GlowConfig> = {}): GlowConfig => ({
  kind: "cv-glow",
  imageShape: [1, 4, 4],
  levels: 1,
  steps: 2,
  hidden: 4,
  coupling: "additive",
  scale: "sigmoid",
  net: "conv",
  actnorm: false,
  lu: false,
  learnedPrior: false,
  ...o,
});

describe("alpha_c and Equation 6", () => {
  it("alpha_c is the product over steps of the kernels' row sums", () => {
    const u1 = [
      [1, 2, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 3, -1],
      [0.5, 0, 0, 1],
    ];
    const u2 = [
      [2, 0, 0, 0],
      [1, 1, 1, 1],
      [0, 0, 1, 0],
      [0, -1, 0, 0],
    ];
    // row sums: u1 -> [3, 1, 2, 1.5], u2 -> [2, 4, 1, -1]
    expect(alphaFromKernels([u1, u2])).toEqual([6, 4, 2, -1.5]);
  });

  it("reads the kernels of a hand-built CV-Glow (ActNorm scales folded into the columns)", () => {
    torch.tidy(() => {
      const m = new Glow(cvGlow());
      const w1 = [
        [1, 2, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 3, -1],
        [0.5, 0, 0, 1],
      ];
      const w2 = [
        [2, 0, 0, 0],
        [1, 1, 1, 1],
        [0, 0, 1, 0],
        [0, -1, 0, 0],
      ];
      m.setParameter("levels.0.0.invconv.weight", torch.tensor(w1));
      m.setParameter("levels.0.1.invconv.weight", torch.tensor(w2));
      expect(glowKernels(m, 0)).toEqual([w1, w2]);
      expect(alphaFromKernels(glowKernels(m, 0))).toEqual([6, 4, 2, -1.5]);
      m.dispose();

      const a = new Glow(cvGlow({ actnorm: true, steps: 1 }));
      a.setParameter("levels.0.0.invconv.weight", torch.tensor(w1));
      a.setParameter("levels.0.0.actnorm.logs", torch.tensor([Math.log(2), 0, 0, Math.log(0.5)]).view(1, 4, 1, 1));
      // columns scaled by [2, 1, 1, 0.5]: rows [2+2, 1, 3-0.5, 1+0.5]
      const alpha = alphaFromKernels(glowKernels(a, 0));
      [4, 1, 2.5, 1.5].forEach((v, i) => expect(alpha[i]).toBeCloseTo(v, 5));
      a.dispose();
    });
  });

  it("Equation 6: -1/(2 sigma^2) sum_c alpha_c^2 S_c, with S_c summed over the squeezed positions", () => {
    // 1x4x4 variance-difference map: value = 1 at (0,0)-type positions, 2 at (0,1), 3 at (1,0), 4 at (1,1)
    const map = Array.from({ length: 16 }, (_, i) => 1 + (Math.floor(i / 4) % 2) * 2 + ((i % 4) % 2));
    const S = squeezedChannelSums(map, [1, 4, 4]);
    expect(S).toEqual([4, 8, 12, 16]);
    const alpha = [6, 4, 2, -1.5];
    const expected = -0.5 * (36 * 4 + 16 * 8 + 4 * 12 + 2.25 * 16);
    expect(eq6Prediction(alpha, S)).toBeCloseTo(expected, 10);
    expect(eq6Prediction(alpha, S, 2)).toBeCloseTo(expected / 2, 10);
    // q with smaller variances everywhere: the prediction is positive
    expect(
      eq6Prediction(
        alpha,
        S.map((s) => -s),
      ),
    ).toBeGreaterThan(0);
  });
});

describe("Hutchinson's trace estimator", () => {
  // A tiny flow on 4 dims: Glow on 1x2x2 images (one squeeze to 4x1x1), in float64.
  const tinyFlow = () => {
    torch.manualSeed(3);
    const m = new Glow({
      kind: "glow",
      imageShape: [1, 2, 2],
      levels: 1,
      steps: 2,
      hidden: 6,
      coupling: "affine",
      scale: "sigmoid",
      net: "conv",
      actnorm: false,
      lu: false,
      learnedPrior: false,
    });
    // Non-zero coupling outputs so the Hessian is not just the linear part's.
    for (const [name, p] of m.namedParameters()) if (name.includes("coupling")) m.setParameter(name, torch.randn(p.shape).mul(0.5));
    m.to("float64");
    m.train(false);
    return m;
  };
  const exactHessian = (m: Glow, x0: torch.Tensor): number[][] =>
    torch.tidy(() => {
      const x = x0.unsqueeze(0).detach().requiresGrad_(true);
      const [g] = torch.autograd.grad(m.logLikelihood(x).logPx.sum(), x, { createGraph: true });
      const gf = g!.flatten();
      const rows: number[][] = [];
      for (let i = 0; i < 4; i++) rows.push(Array.from(torch.autograd.grad(gf.select(0, i), x, { retainGraph: true })[0]!.flatten().data() as Float64Array));
      return rows;
    });

  it("matches the exact trace of H diag(w): exactly over all 16 sign vectors, closely with random probes", () => {
    const m = tinyFlow();
    const x0 = torch
      .tensor(
        [
          [
            [0.2, 0.7],
            [0.4, 0.9],
          ],
        ],
        { dtype: "float64" },
      )
      .keep();
    try {
      const H = exactHessian(m, x0);
      const w = [0.5, -1, 2, 0.25];
      const exact = H.reduce((s, row, i) => s + row[i]! * w[i]!, 0);
      const hvp = logDensityHvp(m, x0);
      // Hessian-vector products agree with the explicit Hessian
      const hu = torch.tidy(() => Array.from(hvp(torch.tensor([[1, 0, -1, 2]], { dtype: "float64" })).data() as Float64Array));
      hu.forEach((v, i) => expect(v).toBeCloseTo(H[i]![0]! - H[i]![2]! + 2 * H[i]![3]!, 8));
      // All 16 Rademacher vectors: the cross terms cancel, the mean is the trace exactly.
      const all: number[][] = Array.from({ length: 16 }, (_, k) => [0, 1, 2, 3].map((b) => ((k >> b) & 1 ? -1 : 1)));
      const hAll = torch.tidy(() =>
        Array.from(
          hvp(
            torch.tensor(
              all.map((v) => v.map((s, i) => s * w[i]!)),
              { dtype: "float64" },
            ),
          ).data() as Float64Array,
        ),
      );
      const full = all.reduce((s, v, p) => s + v.reduce((t, vi, i) => t + vi * hAll[p * 4 + i]!, 0), 0) / 16;
      expect(full).toBeCloseTo(exact, 8);
      const est = hutchinsonTrace(hvp, 4, { probes: 512, batch: 128, weight: w, seed: 1 });
      expect(Math.abs(est.estimate - exact)).toBeLessThan(4 * est.stderr + 1e-9);
      expect(est.probes).toBe(512);
    } finally {
      x0.dispose();
      m.dispose();
    }
  });
});

describe("histogram binning", () => {
  it("counts values in equal-width bins, the maximum in the last bin, clamping outside values", () => {
    const h = histogram([0, 0.1, 0.5, 0.99, 1, 2, -1, NaN], { bins: 4, min: 0, max: 1 });
    expect(h.edges).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(h.counts).toEqual([3, 0, 1, 3]);
    expect(h.dropped).toBe(1);
    const auto = histogram([2, 4, 6, 8], { bins: 3 });
    expect(auto.edges[0]).toBe(2);
    expect(auto.edges[3]).toBe(8);
    expect(auto.counts).toEqual([1, 1, 2]);
    expect(histogram([5, 5], { bins: 2 }).counts.reduce((a, b) => a + b)).toBe(2);
  });
});

describe("graying", () => {
  it("moves pixels toward 128 by the factor: 1 keeps them, 0 makes every pixel 128", () => {
    const x = new Uint8Array([0, 64, 128, 200, 255]);
    expect(Array.from(gray(x, 1))).toEqual([0, 64, 128, 200, 255]);
    expect(Array.from(gray(x, 0))).toEqual([128, 128, 128, 128, 128]);
    expect(Array.from(gray(x, 0.5))).toEqual([64, 96, 128, 164, 191.5]);
    const ds = { name: "t", split: "x", images: x, n: 5, channels: 1, height: 1, width: 1 };
    expect(Array.from(grayDataset(ds, 0.5).images)).toEqual([64, 96, 128, 164, 192]);
  });
});

describe("small helpers", () => {
  it("logMeanExp is the log of the mean likelihood", () => {
    const r = logMeanExp([
      [0, -1000],
      [Math.log(3), -1000],
    ]);
    expect(r[0]).toBeCloseTo(Math.log(2), 12);
    expect(r[1]).toBeCloseTo(-1000, 12);
  });
  it("crossingsOf finds sign changes of OOD - test", () => {
    expect(
      crossingsOf([
        { step: 1, test: 3, ood: 2 },
        { step: 2, test: 3, ood: 2.5 },
      ]),
    ).toEqual([]);
    expect(
      crossingsOf([
        { step: 1, test: 3, ood: 2 },
        { step: 2, test: 3, ood: 4 },
      ]),
    ).toEqual([2]);
  });
});
