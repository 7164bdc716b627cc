// Glow and RealNVP as lists of flow layers: the chain's layers in the paper's order, the typed
// accessors the analyses use, and the config flags that pick a layer (lu: Glow's LU 1x1 convolution).
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { Glow, GlowStep, glowOf, type GlowConfig } from "../../lib/models/glow/glow.js";
import { RealNVP } from "../../lib/models/realnvp/realnvp.js";
import {
  ActNorm,
  CenterPixels,
  Coupling,
  FlowLayerList,
  InvertibleConv1x1,
  InvertibleConv1x1LU,
  LogitTransform,
  SplitWithPrior,
  flowOf,
  type FlowLayer,
} from "../../lib/models/flows/index.js";

const tiny = (o: Partial<GlowConfig> = {}): GlowConfig => ({
  kind: "glow",
  imageShape: [1, 8, 8],
  levels: 2,
  steps: 2,
  hidden: 4,
  coupling: "affine",
  scale: "sigmoid",
  net: "conv",
  actnorm: true,
  lu: false,
  learnedPrior: false,
  ...o,
});
const names = (layers: Iterable<FlowLayer>) => [...layers].map((l) => l.constructor.name);

describe("Glow as a list of layers", () => {
  it("centre, then per level: squeeze, K steps, split (all but the last level)", () => {
    const m = new Glow(tiny());
    expect(names(m.chain)).toEqual(["CenterPixels", "Squeeze", "GlowStep", "GlowStep", "SplitWithPrior", "Squeeze", "GlowStep", "GlowStep"]);
    expect(m.chain.layers[0]).toBeInstanceOf(CenterPixels);
    expect(m.chain.layers[2]).toBe(m.steps(0)[0]);
    expect(m.numCodes).toBe(2);
    m.dispose();
  });

  it("gives each step's ActNorm, 1x1 convolution and coupling as typed members", () => {
    const m = new Glow(tiny());
    const [step] = m.steps(1);
    expect(step).toBeInstanceOf(GlowStep);
    expect(step!.actnorm).toBeInstanceOf(ActNorm);
    expect(step!.invconv).toBeInstanceOf(InvertibleConv1x1);
    expect(step!.coupling).toBeInstanceOf(Coupling);
    expect(step!.invconv.weight().shape).toEqual([8, 8]);
    const noActNorm = new Glow(tiny({ actnorm: false }));
    expect(noActNorm.steps(0)[0]!.actnorm).toBeNull();
    noActNorm.dispose();
    m.dispose();
  });

  it("the config flag lu picks the LU-parametrized 1x1 convolution, with its own checkpoint names", () => {
    torch.tidy(() => {
      const plain = new Glow(tiny()),
        lu = new Glow(tiny({ lu: true }));
      for (const step of lu.steps(0)) expect(step.invconv).toBeInstanceOf(InvertibleConv1x1LU);
      for (const step of plain.steps(0)) expect(step.invconv).not.toBeInstanceOf(InvertibleConv1x1LU);
      const invconvKeys = (g: Glow) =>
        Object.keys(g.stateDict())
          .filter((k) => k.startsWith("levels.0.0.invconv."))
          .sort();
      expect(invconvKeys(plain)).toEqual(["levels.0.0.invconv.weight"]);
      expect(invconvKeys(lu)).toEqual([
        "levels.0.0.invconv.log_s",
        "levels.0.0.invconv.lower",
        "levels.0.0.invconv.perm",
        "levels.0.0.invconv.sign_s",
        "levels.0.0.invconv.upper",
      ]);
      // the model's log-det includes H*W*sum(log|s|) of every step
      torch.manualSeed(1);
      const x = torch.rand([2, 1, 8, 8]);
      lu.objective(x);
      lu.eval();
      const before = lu.encode(x).logDet;
      torch.noGrad(() => lu.steps(0)[0]!.invconv.getParameter("log_s").add_(0.25));
      const after = lu.encode(x).logDet;
      // level 0 has 4x4 positions and 4 channels: 16 * 4 * 0.25
      expect(
        after
          .sub(before)
          .toFlatArray()
          .map((v) => Math.round(v * 1e3) / 1e3),
      ).toEqual([16, 16]);
      plain.dispose();
      lu.dispose();
    });
  });

  it("a learned prior puts SplitPriorNet's prior in the split; glowOf and flowOf check the model's type", () => {
    const m = new Glow(tiny({ learnedPrior: true }));
    const split = m.chain.layers.find((l) => l instanceof SplitWithPrior);
    expect(split).toBeDefined();
    expect(m.priors!.length).toBe(1);
    expect(glowOf(m)).toBe(m);
    expect(flowOf(m)).toBe(m);
    expect(() => glowOf({ kind: "vae" })).toThrow(/expected a Glow/);
    expect(() => flowOf({ kind: "vae" })).toThrow(/expected a normalizing flow.*vae/);
    m.dispose();
  });
});

describe("RealNVP as a list of layers", () => {
  it("logit, then per scale: couplings, squeeze, couplings, split; the last scale only couplings", () => {
    const m = new RealNVP({ kind: "realnvp", imageShape: [1, 4, 4], scales: 2, hidden: 4, blocks: 1, alpha: 0.05, batchNorm: true });
    expect(names(m.chain)).toEqual(["LogitTransform", "FlowLayerList", "Squeeze", "FlowLayerList", "SplitWithPrior", "FlowLayerList"]);
    expect(m.chain.layers[0]).toBeInstanceOf(LogitTransform);
    expect(m.chain.layers[1]).toBe(m.pre.get(0));
    expect(m.chain.layers[3]).toBe(m.post.get(0));
    expect(m.pre.get(1)).toBeInstanceOf(FlowLayerList);
    expect(names(m.pre.get(0))).toEqual(["MaskedCoupling", "FlowBatchNorm", "MaskedCoupling", "FlowBatchNorm", "MaskedCoupling", "FlowBatchNorm"]);
    expect(m.post.get(1).length).toBe(0);
    m.dispose();
  });
});
