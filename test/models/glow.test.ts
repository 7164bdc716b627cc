// Glow and CV-Glow: invertible, log-dets equal the Jacobian's, CV-Glow's volume term constant.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { Glow, type GlowConfig } from "../../lib/models/glow/glow.js";
import { Coupling } from "../../lib/models/flows/coupling.js";
import { squeeze2d, unsqueeze2d } from "../../lib/models/flows/ops.js";
import { jacobianLogDet } from "./flow-helpers.js";

const tinyConfig = (o: Partial<GlowConfig> = {}): GlowConfig => ({
  kind: "glow",
  imageShape: [1, 4, 4],
  levels: 2,
  steps: 2,
  hidden: 8,
  coupling: "affine",
  scale: "sigmoid",
  net: "conv",
  actnorm: true,
  lu: false,
  learnedPrior: false,
  ...o,
});

/** Makes the zero-initialised last layers non-zero, so couplings are not the identity. */
function perturb(m: Glow, seed = 1): void {
  torch.manualSeed(seed);
  torch.noGrad(() => {
    for (const p of m.parameters())
      torch.tidy(() => {
        p.add_(torch.randnLike(p).mul(0.05));
      });
  });
}

describe("flow ops", () => {
  it("squeeze and unsqueeze are inverse and move 2x2 patches into channels", () => {
    torch.tidy(() => {
      const x = torch.arange(16, undefined, 1, { dtype: "float32" }).view(1, 1, 4, 4);
      const s = squeeze2d(x);
      expect(s.shape).toEqual([1, 4, 2, 2]);
      expect(s.select(1, 0).flatten().tolist()).toEqual([0, 2, 8, 10]);
      expect(unsqueeze2d(s).tolist()).toEqual(x.tolist());
    });
  });
});

describe("Glow", () => {
  for (const variant of [
    { name: "glow, sigmoid scale, plain 1x1", cfg: tinyConfig() },
    { name: "glow, exp scale, LU 1x1, learned prior, highway net", cfg: tinyConfig({ scale: "exp", lu: true, learnedPrior: true, net: "highway" }) },
    { name: "cv-glow", cfg: tinyConfig({ kind: "cv-glow", coupling: "additive", actnorm: false }) },
  ]) {
    it(`${variant.name}: inverse(forward(x)) = x and log-det = log|det J|`, () => {
      torch.tidy(() => {
        torch.manualSeed(0);
        const m = new Glow(variant.cfg);
        const x = torch.rand([3, 1, 4, 4]);
        m.objective(x); // ActNorm's data-dependent init
        perturb(m);
        m.train(false);
        const { zs, logDet } = m.encode(x);
        const back = m.inverse(zs);
        expect(back.sub(x).abs().max().item()).toBeLessThan(1e-4);
        m.to("float64");
        const exact = jacobianLogDet(
          (xi) =>
            torch.cat(
              m.encode(xi.view(1, 1, 4, 4)).zs.map((z) => z.flatten()),
              0,
            ),
          x.narrow(0, 0, 1),
        );
        const ours = m.encode(x.narrow(0, 0, 1).double()).logDet.item();
        expect(Math.abs(ours - exact)).toBeLessThan(1e-6 * (1 + Math.abs(exact)));
        void logDet;
        m.dispose();
      });
    });
  }

  it("each coupling's log-det equals its Jacobian's, for exp and sigmoid scales", () => {
    torch.tidy(() => {
      for (const scale of ["exp", "sigmoid"] as const) {
        torch.manualSeed(3);
        const c = new Coupling(4, { kind: "affine", scale, net: "conv", hidden: 6 });
        torch.noGrad(() => {
          for (const p of c.parameters()) p.add_(torch.randnLike(p).mul(0.1));
        });
        c.to("float64");
        const x = torch.randn([1, 4, 2, 2], { dtype: "float64" });
        const exact = jacobianLogDet((xi) => c.forward(xi.view(1, 4, 2, 2))[0], x);
        expect(c.forward(x)[1].item()).toBeCloseTo(exact, 8);
        const [y] = c.forward(x);
        expect(c.inverse(y)[0].sub(x).abs().max().item()).toBeLessThan(1e-10);
        c.dispose();
      }
    });
  });

  it("CV-Glow's log-det is the same for every input", () => {
    torch.tidy(() => {
      torch.manualSeed(0);
      const m = new Glow(tinyConfig({ kind: "cv-glow", coupling: "additive", actnorm: false }));
      perturb(m);
      const a = m.encode(torch.rand([4, 1, 4, 4])).logDet.toFlatArray();
      const b = m.encode(torch.rand([4, 1, 4, 4]).mul(0.1)).logDet.toFlatArray();
      for (const v of [...a, ...b]) expect(v).toBeCloseTo(a[0]!, 4);
      expect(Math.abs(a[0]!)).toBeGreaterThan(1e-3);
      m.dispose();
    });
  });

  it("bits/dim: logPx = logPz + logDet - D log 256, and samples have the image shape", () => {
    torch.tidy(() => {
      const m = new Glow(tinyConfig());
      const x = torch.rand([2, 1, 4, 4]);
      const r = m.objective(x);
      const expected = r.logPz!.add(r.logDet!).sub(16 * Math.log(256));
      expect(r.logPx.sub(expected).abs().max().item()).toBeLessThan(1e-3);
      const s = m.sample(5, { temperature: 0.7 });
      expect(s.shape).toEqual([5, 1, 4, 4]);
      expect(s.min().item()).toBeGreaterThanOrEqual(0);
      m.dispose();
    });
  });
});
