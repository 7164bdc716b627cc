// Far from the data, a flow whose couplings scale by exp(s) leaves float range (exp overflows for
// s > 88.7 in float32), and RealNVP's logit preprocessing is undefined outside (0, 1). log p(x) must
// then be -Infinity (or finite), never NaN; on the data, every value stays what it was.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { Glow } from "../../lib/models/glow/glow.js";
import { RealNVP } from "../../lib/models/realnvp/realnvp.js";
import { Adam, clipGradNorm_ } from "../../lib/optim/index.js";
import { twoMoons } from "../../lib/data/index.js";
import { MoonFlow, type MoonStyle } from "../../experiments/two-moons.js";

const count = (a: ArrayLike<number>, f: (v: number) => boolean) => Array.from(a).filter(f).length;
const isNegInf = (v: number) => v === -Infinity;

/** An n x n grid over [-R, R]^2, as [n*n, 2]. */
function grid(R: number, n = 41): torch.Tensor {
  const pts = new Float32Array(n * n * 2);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) pts.set([-R + (2 * R * i) / (n - 1), -R + (2 * R * j) / (n - 1)], 2 * (i * n + j));
  return torch.tensor(pts, { shape: [n * n, 2] });
}

/** A 2-D two-moons flow with exp scales after 200 steps (under a second): its scales grow fast away from the data. */
function trainedMoonFlow(style: MoonStyle): MoonFlow {
  torch.manualSeed(0);
  const flow = new MoonFlow(2, { steps: 4, hidden: 32, scale: "exp", style });
  const opt = new Adam(flow.parameters(), { lr: 1e-3 });
  const batch = 128,
    steps = 200,
    data = twoMoons({ n: steps * batch, dims: 2, seed: 2 });
  for (let s = 0; s < steps; s++)
    torch.tidy(() => {
      const t = flow.terms(torch.tensor(data.subarray(s * batch * 2, (s + 1) * batch * 2), { shape: [batch, 2] }));
      opt.zeroGrad();
      t.logPz.add(t.logDet).mean().neg().backward();
      clipGradNorm_(flow.parameters(), 100);
      opt.step();
    });
  torch.dispose(opt.stateDict().tensors);
  flow.train(false);
  return flow;
}

describe("two-moons flows with exp scales, far from the data", () => {
  for (const style of ["realnvp", "glow"] as MoonStyle[]) {
    it(`${style} style: no NaN log p(x) on grids out to 1e30; on the data log p(x) = log p(z) + log-det`, () => {
      const flow = trainedMoonFlow(style);
      torch.tidy(() =>
        torch.noGrad(() => {
          let overflowed = 0;
          for (const R of [3, 10, 100, 1e4, 1e30]) {
            const logPx = flow.terms(grid(R)).logPx.toFlatArray();
            expect(count(logPx, Number.isNaN), `NaN log p(x) on the grid out to ${R}`).toBe(0);
            expect(count(logPx, (v) => v === Infinity)).toBe(0);
            overflowed += count(logPx, isNegInf);
          }
          expect(overflowed, "the grids reach where exp(s) overflows").toBeGreaterThan(0);
          const t = flow.terms(torch.tensor(twoMoons({ n: 500, dims: 2, seed: 7 }), { shape: [500, 2] }));
          const sum = t.logPz.add(t.logDet).toFlatArray();
          expect(sum.every(Number.isFinite)).toBe(true);
          expect(t.logPx.toFlatArray()).toEqual(sum);
        }),
      );
      flow.dispose();
    });
  }
});

describe("image flows, far from the data", () => {
  const far = (R: number) => torch.randn([32, 1, 4, 4]).mul(R).add(0.5);

  for (const learnedPrior of [false, true]) {
    it(`Glow with exp scales${learnedPrior ? " and a learned prior" : ""}: log p(x) is finite or -Infinity; finite values unchanged`, () => {
      torch.tidy(() =>
        torch.noGrad(() => {
          torch.manualSeed(0);
          const m = new Glow({
            kind: "glow",
            imageShape: [1, 4, 4],
            levels: 2,
            steps: 2,
            hidden: 8,
            coupling: "affine",
            scale: "exp",
            net: "conv",
            actnorm: true,
            lu: false,
            learnedPrior,
          });
          m.objective(torch.rand([16, 1, 4, 4])); // ActNorm's data-dependent init
          for (const p of m.parameters()) p.add_(torch.randnLike(p).mul(0.05)); // couplings that are not the identity
          m.train(false);
          let overflowed = 0;
          for (const R of [0.3, 1, 10, 100, 1e4, 1e30]) {
            const r = m.logLikelihood(far(R));
            const logPx = r.logPx.toFlatArray(),
              logPz = r.logPz!.toFlatArray();
            expect(count(logPx, Number.isNaN), `NaN log p(x) at distance ${R}`).toBe(0);
            expect(count(logPz, Number.isNaN), `NaN log p(z) at distance ${R}`).toBe(0);
            expect(count(logPx, (v) => v === Infinity)).toBe(0);
            overflowed += count(logPx, isNegInf);
            // where the terms are finite, log p(x) is their sum, as before
            const sum = r
              .logPz!.add(r.logDet!)
              .sub(16 * Math.log(256))
              .toFlatArray();
            sum.forEach((v, i) => {
              if (Number.isFinite(v)) expect(logPx[i]).toBe(v);
            });
          }
          expect(overflowed, "the inputs reach where exp(s) overflows").toBeGreaterThan(0);
          m.dispose();
        }),
      );
    });
  }

  it("RealNVP: images outside the logit's support (0, 1) have log p(x) = -Infinity, not NaN", () => {
    torch.tidy(() =>
      torch.noGrad(() => {
        torch.manualSeed(0);
        const m = new RealNVP({ kind: "realnvp", imageShape: [1, 4, 4], scales: 2, hidden: 8, blocks: 1, alpha: 0.05, batchNorm: true });
        m.objective(torch.rand([16, 1, 4, 4]));
        m.train(false);
        const inside = m.logLikelihood(torch.rand([8, 1, 4, 4])).logPx.toFlatArray();
        expect(inside.every(Number.isFinite)).toBe(true);
        for (const R of [2, 100, 1e30]) {
          const x = far(R);
          const logPx = m.logLikelihood(x).logPx.toFlatArray();
          expect(count(logPx, Number.isNaN), `NaN log p(x) at distance ${R}`).toBe(0);
          // alpha = 0.05: the logit of alpha + 0.9 x is defined for x in (-1/18, 19/18)
          const xs = x.toFlatArray();
          const outside = logPx.map((_, i) => xs.slice(16 * i, 16 * (i + 1)).some((v) => v <= -1 / 18 || v >= 19 / 18));
          logPx.forEach((v, i) => (outside[i] ? expect(v).toBe(-Infinity) : expect(Number.isFinite(v)).toBe(true)));
        }
        m.dispose();
      }),
    );
  });
});
