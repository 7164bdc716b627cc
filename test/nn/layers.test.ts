// Linear, Conv2d, ConvTranspose2d, BatchNorm2d, Dropout, Sequential and activations against direct formulas.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { BatchNorm2d, Conv2d, ConvTranspose2d, Dropout, ELU, Linear, ReLU, Sequential, Tanh } from "../../lib/nn/index.js";

const maxDiff = (a: torch.Tensor, b: torch.Tensor) => torch.tidy(() => a.sub(b).abs().max().item());

describe("Linear", () => {
  it("computes x Wᵀ + b with PyTorch's default init bounds", () => {
    torch.manualSeed(12);
    const lin = new Linear(50, 3);
    const x = torch.randn([4, 50]);
    expect(maxDiff(lin.forward(x), x.matmul(lin.weight.t()).add(lin.bias!))).toBeLessThan(1e-6);
    expect(lin.weight.abs().max().item()).toBeLessThanOrEqual(1 / Math.sqrt(50));
    expect(lin.weight.abs().max().item()).toBeGreaterThan(0.8 / Math.sqrt(50));
    const noBias = new Linear(2, 2, { bias: false, dtype: "float64" });
    expect(noBias.namedParameters().map(([n]) => n)).toEqual(["weight"]);
    expect(noBias.bias).toBeNull();
    expect(noBias.weight.dtype).toBe("float64");
    lin.dispose();
    noBias.dispose();
  });
});

describe("Conv2d and ConvTranspose2d", () => {
  it("keeps the size with 'same' padding, strides, and skips the bias when asked", () => {
    const x = torch.randn([2, 3, 9, 9]);
    const same = new Conv2d(3, 5, 5, { padding: "same" });
    expect(same.padding).toEqual([2, 2]);
    expect(same.forward(x).shape).toEqual([2, 5, 9, 9]);
    const dil = new Conv2d(3, 5, 3, { padding: "same", dilation: 2 });
    expect(dil.forward(x).shape).toEqual([2, 5, 9, 9]);
    const strided = new Conv2d(3, 4, 3, { stride: 2, padding: 1, bias: false });
    expect(strided.forward(x).shape).toEqual([2, 4, 5, 5]);
    expect(strided.bias).toBeNull();
    expect(maxDiff(strided.forward(x), torch.conv2d(x, strided.weight, null, { stride: 2, padding: 1 }))).toBeLessThan(1e-5);
    expect(() => new Conv2d(3, 4, 4, { padding: "same" })).toThrow(/odd kernel/);
    expect(() => new Conv2d(3, 4, 3, { padding: "same", stride: 2 })).toThrow(/stride 1/);
    const grouped = new Conv2d(4, 6, 1, { groups: 2 });
    expect(grouped.weight.shape).toEqual([6, 2, 1, 1]);
    for (const m of [same, dil, strided, grouped]) m.dispose();
  });

  it("runs channels-last on the CPU when asked, with NCHW's results and gradients, the weight an NCHW parameter", () => {
    torch.manualSeed(3);
    const x0 = torch.randn([2, 16, 6, 6]);
    const plain = new Conv2d(16, 8, 3);
    expect(plain.forward(x0).isContiguous()).toBe(true); // NCHW unless asked
    plain.dispose();
    const conv = new Conv2d(16, 32, 3, { padding: 1, channelsLast: true });
    const x = torch.randn([4, 16, 14, 14]);
    const y = conv.forward(x);
    const ref = torch.conv2d(x, conv.weight.detach(), conv.bias!.detach(), { padding: 1 });
    expect(y.shape).toEqual([4, 32, 14, 14]);
    expect(y.isContiguous()).toBe(false); // channels-last strides
    expect(maxDiff(y, ref)).toBeLessThan(1e-4 * ref.abs().max().item());
    expect(y.reshape([4, -1]).shape).toEqual([4, 32 * 14 * 14]);
    y.square().sum().backward();
    const w = conv.weight.detach().requiresGrad_();
    torch.conv2d(x, w, conv.bias!.detach(), { padding: 1 }).square().sum().backward();
    expect(conv.weight.isContiguous()).toBe(true);
    expect(conv.weight.grad!.isContiguous()).toBe(true);
    expect(maxDiff(conv.weight.grad!, w.grad!)).toBeLessThan(1e-4 * w.grad!.abs().max().item());
    // An unbatched (3-d) input has no channels-last layout: it runs as NCHW.
    expect(maxDiff(conv.forward(x.select(0, 1)), ref.select(0, 1))).toBeLessThan(1e-4 * ref.abs().max().item());
    conv.dispose();
  });

  it("ConvTranspose2d upsamples with PyTorch's weight layout", () => {
    const up = new ConvTranspose2d(4, 2, 4, { stride: 2, padding: 1 });
    expect(up.weight.shape).toEqual([4, 2, 4, 4]);
    const x = torch.randn([1, 4, 5, 5]);
    expect(up.forward(x).shape).toEqual([1, 2, 10, 10]);
    expect(maxDiff(up.forward(x), torch.convTranspose2d(x, up.weight, up.bias, { stride: 2, padding: 1 }))).toBe(0);
    const op = new ConvTranspose2d(1, 1, 3, { stride: 2, padding: 1, outputPadding: 1 });
    expect(op.forward(torch.zeros([1, 1, 4, 4])).shape).toEqual([1, 1, 8, 8]);
    up.dispose();
    op.dispose();
  });
});

describe("BatchNorm2d", () => {
  it("normalises with batch statistics in training and updates the running ones with momentum", () => {
    torch.manualSeed(13);
    const bn = new BatchNorm2d(2, { momentum: 0.1, dtype: "float64" });
    const x = torch.randn([8, 2, 3, 3], { dtype: "float64" }).mul(3).add(2);
    const y = bn.forward(x);
    expect(y.mean([0, 2, 3]).abs().max().item()).toBeLessThan(1e-10);
    const mean = x.mean([0, 2, 3]);
    const varUnbiased = x.var([0, 2, 3]);
    expect(maxDiff(bn.getBuffer("running_mean"), mean.mul(0.1))).toBeLessThan(1e-12);
    expect(maxDiff(bn.getBuffer("running_var"), varUnbiased.mul(0.1).add(0.9))).toBeLessThan(1e-12);
    expect(bn.getBuffer("num_batches_tracked").item()).toBe(1);
    // Eval: (x - running_mean) / sqrt(running_var + eps), the buffers untouched.
    bn.eval();
    const z = torch.randn([2, 2, 3, 3], { dtype: "float64" });
    const rm = bn.getBuffer("running_mean").view(1, 2, 1, 1);
    const rv = bn.getBuffer("running_var").view(1, 2, 1, 1);
    expect(maxDiff(bn.forward(z), z.sub(rm).div(rv.add(1e-5).sqrt()))).toBeLessThan(1e-12);
    expect(bn.getBuffer("num_batches_tracked").item()).toBe(1);
    bn.dispose();
  });

  it("without running statistics uses the batch's in eval too", () => {
    const bn = new BatchNorm2d(1, { trackRunningStats: false, affine: false }).eval();
    expect(bn.namedBuffers()).toEqual([]);
    expect(bn.numParameters()).toBe(0);
    expect(
      bn
        .forward(torch.tensor([1, 3]).view(2, 1, 1, 1))
        .toFlatArray()
        .map((v) => Math.round(v * 1e4) / 1e4),
    ).toEqual([-1, 1]);
    bn.dispose();
  });
});

describe("Dropout, Sequential and activations", () => {
  it("drops only in training", () => {
    const d = new Dropout(0.5);
    const x = torch.ones([10000]);
    const y = d.forward(x);
    expect(y.eq(0).sum().item()).toBeGreaterThan(4000);
    expect(y.max().item()).toBe(2);
    d.eval();
    expect(d.forward(x)).toBe(x);
    expect(() => new Dropout(1.5)).toThrow(RangeError);
  });

  it("chains layers, names them by position, and applies ReLU, ELU and Tanh", () => {
    const seq = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2), new Tanh());
    expect(seq.namedParameters().map(([n]) => n)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    expect(seq.length).toBe(4);
    const x = torch.randn([5, 3]);
    const l0 = seq.get(0) as Linear,
      l2 = seq.get(2) as Linear;
    const want = torch.linear(torch.linear(x, l0.weight, l0.bias).relu(), l2.weight, l2.bias).tanh();
    expect(maxDiff(seq.forward(x), want)).toBeLessThan(1e-6);
    const v = torch.tensor([-1, 0, 2]);
    expect(new ReLU().forward(v).tolist()).toEqual([0, 0, 2]);
    expect(new ELU(2).forward(v).toFlatArray()[0]).toBeCloseTo(2 * Math.expm1(-1), 6);
    expect(new Tanh().forward(v).toFlatArray()[2]).toBeCloseTo(Math.tanh(2), 6);
    seq.dispose();
  });
});
