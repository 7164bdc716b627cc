// The flows toolkit: every layer inverts its forward map and returns the log-det of its Jacobian;
// FlowChain sums the layers' log-dets in order; splits hand their codes to FactoredCodes and take them back.
import { describe, expect, it } from "vitest";
import * as torch from "../../../lib/tensor/index.js";
import {
  ActNorm,
  CenterPixels,
  Coupling,
  FactoredCodes,
  FlowBatchNorm,
  FlowChain,
  FlowLayerList,
  GaussianPrior,
  InvertibleConv1x1,
  LogitTransform,
  MaskedCoupling,
  Squeeze,
  SplitPriorNet,
  SplitWithPrior,
  VectorCoupling,
  standardNormal,
  standardNormalLogProb,
  type FlowLayer,
} from "../../../lib/models/flows/index.js";
import { jacobianLogDet } from "../flow-helpers.js";

const maxAbs = (t: torch.Tensor) => torch.tidy(() => t.abs().max().item());

/** Makes zero-initialised output layers non-zero, so couplings are not the identity. */
function perturb(layer: FlowLayer, scale = 0.1): void {
  torch.noGrad(() => {
    for (const p of layer.parameters()) p.add_(torch.randnLike(p).mul(scale));
  });
}

describe("each flow layer", () => {
  const cases: [string, () => FlowLayer, number[]][] = [
    ["CenterPixels", () => new CenterPixels(), [1, 2, 4, 4]],
    ["LogitTransform", () => new LogitTransform(0.05), [1, 2, 4, 4]],
    ["Squeeze", () => new Squeeze(), [1, 2, 4, 4]],
    ["ActNorm", () => new ActNorm(4), [1, 4, 2, 2]],
    ["InvertibleConv1x1", () => new InvertibleConv1x1(4), [1, 4, 2, 2]],
    ["Coupling (affine, exp)", () => new Coupling(4, { kind: "affine", scale: "exp", net: "conv", hidden: 6 }), [1, 4, 2, 2]],
    ["Coupling (additive)", () => new Coupling(4, { kind: "additive", scale: "sigmoid", net: "conv", hidden: 6 }), [1, 4, 2, 2]],
    ["MaskedCoupling (checkerboard)", () => new MaskedCoupling(2, "checkerboard", 1, 6, 1), [1, 2, 4, 4]],
    ["MaskedCoupling (channel)", () => new MaskedCoupling(4, "channel", 0, 6, 1), [1, 4, 2, 2]],
    ["FlowBatchNorm (running statistics)", () => new FlowBatchNorm(4).eval(), [1, 4, 2, 2]],
    ["VectorCoupling", () => new VectorCoupling(6, 0, 8, "sigmoid"), [1, 6, 1, 1]],
  ];
  for (const [name, make, shape] of cases)
    it(`${name}: inverse(forward(x)) = x, log-dets opposite and equal to log|det J| (float64)`, () => {
      torch.tidy(() => {
        torch.manualSeed(1);
        const layer = make();
        perturb(layer);
        layer.to("float64");
        const x = torch.rand(shape, { dtype: "float64" }).mul(0.8).add(0.1);
        const [y, ld] = layer.forward(x);
        const [back, ldInv] = layer.inverse(y);
        expect(maxAbs(back.sub(x))).toBeLessThan(1e-10);
        expect(ld.shape).toEqual([1]);
        expect(maxAbs(ld.add(ldInv))).toBeLessThan(1e-10);
        expect(ld.item()).toBeCloseTo(
          jacobianLogDet((xi) => layer.forward(xi.view(shape))[0], x),
          8,
        );
        layer.dispose();
      });
    });
});

describe("FlowChain", () => {
  it("runs its layers in order, inverts them in reverse, and sums their log-dets", () => {
    torch.tidy(() => {
      torch.manualSeed(2);
      const layers = [new ActNorm(4), new InvertibleConv1x1(4), new Coupling(4, { kind: "affine", scale: "sigmoid", net: "conv", hidden: 6 })];
      layers.forEach((l) => perturb(l));
      const chain = new FlowChain(layers);
      const x = torch.randn([3, 4, 2, 2]);
      const [y, logDet] = chain.forward(x);
      let h = x,
        sum = torch.zeros([3]);
      for (const l of layers) {
        const [o, ld] = l.forward(h);
        h = o;
        sum = sum.add(ld);
      }
      expect(y.sub(h).abs().max().item()).toBe(0);
      expect(maxAbs(logDet.sub(sum))).toBeLessThan(1e-4);
      const [back, inv] = chain.inverse(y);
      expect(maxAbs(back.sub(x))).toBeLessThan(1e-5);
      expect(maxAbs(inv.add(logDet))).toBeLessThan(1e-3);
      expect([...chain]).toEqual(layers);
      for (const l of layers) l.dispose();
    });
  });

  it("FlowLayerList registers its layers as 0, 1, ... and acts as their chain", () => {
    torch.tidy(() => {
      const list = new FlowLayerList().push(new ActNorm(2)).push(new Squeeze()).push(new InvertibleConv1x1(8));
      expect(Object.keys(list.stateDict()).sort()).toEqual(["0.bias", "0.initialized", "0.logs", "2.weight"]);
      const x = torch.randn([2, 2, 4, 4]);
      const [y, ld] = list.forward(x);
      const [y2, ld2] = new FlowChain([...list]).forward(x);
      expect(y.shape).toEqual([2, 8, 2, 2]);
      expect(y.sub(y2).abs().max().item()).toBe(0);
      expect(ld.toFlatArray()).toEqual(ld2.toFlatArray());
      list.dispose();
    });
  });
});

describe("SplitWithPrior", () => {
  it("factors out the second half of the channels with its log p(z), and puts a given code back", () => {
    torch.tidy(() => {
      const split = new SplitWithPrior(standardNormal);
      const x = torch.randn([2, 4, 3, 3]);
      const codes = new FactoredCodes();
      const [kept, ld] = split.forward(x, codes);
      expect(kept.shape).toEqual([2, 2, 3, 3]);
      expect(ld.toFlatArray()).toEqual([0, 0]);
      expect(codes.zs.length).toBe(1);
      expect(codes.logPz!.toFlatArray()).toEqual(standardNormalLogProb(x.narrow(1, 2, 2)).toFlatArray());
      const [back] = split.inverse(kept, new FactoredCodes(codes.zs));
      expect(back.sub(x).abs().max().item()).toBe(0);
      expect(() => split.forward(x)).toThrow(/FactoredCodes/);
    });
  });

  it("draws missing codes from its prior: a learned prior's mean at temperature 0", () => {
    torch.tidy(() => {
      torch.manualSeed(3);
      const net = new SplitPriorNet(2);
      perturb(net, 0.5);
      const split = new SplitWithPrior(net.prior());
      const kept = torch.randn([2, 2, 3, 3]);
      const [x] = split.inverse(kept, new FactoredCodes([null], 0));
      const [mean] = net.params(kept);
      expect(maxAbs(x.narrow(1, 2, 2).sub(mean))).toBeLessThan(1e-6);
      // and scores a code under N(mean, exp(logs)^2)
      const codes = new FactoredCodes();
      split.forward(x, codes);
      const [, logs] = net.params(kept);
      expect(
        maxAbs(
          codes.logPz!.sub(
            logs
              .neg()
              .flatten(1)
              .sum(1)
              .sub(18 * 0.5 * Math.log(2 * Math.PI)),
          ),
        ),
      ).toBeLessThan(1e-3);
      net.dispose();
    });
  });

  it("FactoredCodes hands codes back last-first, null where none was given", () => {
    const a = torch.zeros([1]),
      b = torch.ones([1]);
    const codes = new FactoredCodes([a, null, b]);
    expect(codes.take()).toBe(b);
    expect(codes.take()).toBeNull();
    expect(codes.take()).toBe(a);
    expect(codes.take()).toBeNull();
    const g = new GaussianPrior(() => [torch.ones([1, 1]), torch.zeros([1, 1])]);
    expect(g.sample([3, 1], null, 0, "cpu").toFlatArray()).toEqual([1, 1, 1]);
  });
});
