// RealNVP: invertible, log-det equals the Jacobian's (logit preprocessing, masked couplings, batch norm).
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { RealNVP, type RealNVPConfig } from "../../lib/models/realnvp/realnvp.js";
import { jacobianLogDet } from "./flow-helpers.js";

const cfg: RealNVPConfig = { kind: "realnvp", imageShape: [1, 4, 4], scales: 2, hidden: 8, blocks: 1, alpha: 0.05, batchNorm: true };

describe("RealNVP", () => {
  it("inverse(forward(x)) = x, and the log-det equals log|det J|", () => {
    torch.tidy(() => {
      torch.manualSeed(0);
      const m = new RealNVP(cfg);
      const x = torch.rand([8, 1, 4, 4]).mul(0.98).add(0.01);
      for (let i = 0; i < 3; i++) m.objective(x); // moves the batch-norm running averages off their start
      torch.noGrad(() => {
        for (const p of m.parameters()) p.add_(torch.randnLike(p).mul(0.05));
      });
      m.train(false);
      const { zs } = m.encode(x);
      expect(m.inverse(zs).sub(x).abs().max().item()).toBeLessThan(1e-4);
      m.to("float64");
      const x0 = x.narrow(0, 0, 1).double();
      const exact = jacobianLogDet(
        (xi) =>
          torch.cat(
            m.encode(xi.view(1, 1, 4, 4)).zs.map((z) => z.flatten()),
            0,
          ),
        x0,
      );
      const ours = m.encode(x0).logDet.item();
      expect(Math.abs(ours - exact)).toBeLessThan(1e-6 * (1 + Math.abs(exact)));
      m.dispose();
    });
  });

  it("uses batch statistics in training and running averages in evaluation", () => {
    torch.tidy(() => {
      torch.manualSeed(1);
      const m = new RealNVP(cfg);
      const x = torch.rand([16, 1, 4, 4]);
      const a = m.objective(x).logDet.toFlatArray();
      m.train(false);
      const b = m.objective(x).logDet.toFlatArray();
      expect(a).not.toEqual(b);
      const s = m.sample(3);
      expect(s.shape).toEqual([3, 1, 4, 4]);
      m.dispose();
    });
  });
});
