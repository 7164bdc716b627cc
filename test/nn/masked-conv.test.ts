// MaskedConv2d: causality checked by gradients. The output at a pixel must not depend on inputs after it
// in raster order, nor (mask A) on the pixel itself; with RGB groups, on no later colour at the pixel.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { MaskedConv2d, pixelCnnMask, Sequential, ReLU } from "../../lib/nn/index.js";

const H = 5,
  W = 5;
const P = { r: 2, c: 2 }; // the output pixel under test

/** |∂out[0, oc, P]/∂x| summed over the batch, as nested [channel][row][col]. */
function sensitivity(layer: { forward(x: torch.Tensor): torch.Tensor }, inC: number, oc: number): number[][][] {
  return torch.tidy(() => {
    const x = torch.randn([1, inC, H, W]).requiresGrad_(true);
    const y = layer.forward(x);
    const g = torch.autograd.grad(y.select(0, 0).select(0, oc).select(0, P.r).select(0, P.c), x)[0]!;
    return g.abs().select(0, 0).tolist() as number[][][];
  });
}

const before = (r: number, c: number) => r < P.r || (r === P.r && c < P.c);
const after = (r: number, c: number) => r > P.r || (r === P.r && c > P.c);

function expectCausal(s: number[][][], opts: { centre: boolean[] }): void {
  s.forEach((chan, ic) =>
    chan.forEach((row, r) =>
      row.forEach((v, c) => {
        if (after(r, c)) expect(v, `input (${ic}, ${r}, ${c}) is after the pixel`).toBe(0);
        if (r === P.r && c === P.c) {
          if (opts.centre[ic]) expect(v, `input channel ${ic} at the pixel`).toBeGreaterThan(0);
          else expect(v, `input channel ${ic} at the pixel`).toBe(0);
        }
        // Inside the 3x3 receptive field, earlier pixels are seen (so the test above is not vacuous).
        if (before(r, c) && Math.abs(r - P.r) <= 1 && Math.abs(c - P.c) <= 1) expect(v).toBeGreaterThan(0);
      }),
    ),
  );
}

describe("MaskedConv2d", () => {
  it("mask A: the output at a pixel does not depend on the inputs at or after it", () => {
    torch.manualSeed(6);
    const conv = new MaskedConv2d(2, 4, 3, { maskType: "A" });
    for (let oc = 0; oc < 4; oc++) expectCausal(sensitivity(conv, 2, oc), { centre: [false, false] });
    conv.dispose();
  });

  it("mask B: it depends on the pixel itself but not on the inputs after it", () => {
    torch.manualSeed(7);
    const conv = new MaskedConv2d(2, 4, 3, { maskType: "B" });
    for (let oc = 0; oc < 4; oc++) expectCausal(sensitivity(conv, 2, oc), { centre: [true, true] });
    conv.dispose();
  });

  it("stays causal through a stack of A then B layers (a 5x5 receptive field, nothing after the pixel)", () => {
    torch.manualSeed(8);
    const net = new Sequential(new MaskedConv2d(1, 8, 3, { maskType: "A" }), new ReLU(), new MaskedConv2d(8, 1, 3, { maskType: "B" }));
    const s = sensitivity(net, 1, 0)[0]!;
    s.forEach((row, r) =>
      row.forEach((v, c) => {
        if (after(r, c) || (r === P.r && c === P.c)) expect(v).toBe(0);
      }),
    );
    expect(s[0]![4]).toBeGreaterThan(0); // two rows up, two right: only reachable through both layers
    net.dispose();
  });

  it("orders RGB channel groups R < G < B at the pixel itself", () => {
    torch.manualSeed(9);
    const a = new MaskedConv2d(3, 6, 3, { maskType: "A", dataChannels: 3 }); // out groups {0,1} R, {2,3} G, {4,5} B
    const b = new MaskedConv2d(3, 6, 3, { maskType: "B", dataChannels: 3 });
    const centreA = [
      [false, false, false],
      [true, false, false],
      [true, true, false],
    ];
    const centreB = [
      [true, false, false],
      [true, true, false],
      [true, true, true],
    ];
    for (let oc = 0; oc < 6; oc++) {
      expectCausal(sensitivity(a, 3, oc), { centre: centreA[oc >> 1]! });
      expectCausal(sensitivity(b, 3, oc), { centre: centreB[oc >> 1]! });
    }
    a.dispose();
    b.dispose();
  });

  it("builds the gated PixelCNN's vertical and horizontal stack masks", () => {
    const v = (type: "A" | "B") => Array.from(pixelCnnMask(1, 1, 3, 3, type, 1, "vertical"));
    const h = (type: "A" | "B") => Array.from(pixelCnnMask(1, 1, 3, 3, type, 1, "horizontal"));
    expect(v("A")).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(v("B")).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0]);
    expect(h("A")).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(h("B")).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(pixelCnnMask(1, 1, 3, 3, "B"))).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(() => pixelCnnMask(1, 1, 2, 2, "A")).toThrow(/odd kernel/);
    expect(() => pixelCnnMask(4, 3, 3, 3, "A", 3)).toThrow(/divide into 3 groups/);
  });

  it("keeps masked weights out of the forward pass and the mask out of the state dict", () => {
    const withBias = new MaskedConv2d(1, 1, 3, { maskType: "A" });
    expect(Object.keys(withBias.stateDict()).sort()).toEqual(["bias", "weight"]);
    withBias.dispose();
    const conv = new MaskedConv2d(1, 1, 3, { maskType: "A", bias: false });
    expect(conv.weight.mul(torch.onesLike(conv.mask).sub(conv.mask)).abs().sum().item()).toBe(0); // starts masked
    torch.noGrad(() => conv.weight.fill_(1));
    // Taps: the row above (3) and the pixel to the left (1), zero padding at the borders.
    const y = conv.forward(torch.ones([1, 1, 3, 3]));
    expect(y.select(0, 0).select(0, 0).tolist()).toEqual([
      [0, 1, 1],
      [2, 4, 3],
      [2, 4, 3],
    ]);
    conv.dispose();
  });
});
