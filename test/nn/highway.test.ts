// The paper's highway coupling network: shapes, the identity start (zero output), the layer formula.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { HighwayLayer, HighwayNetwork, HIGHWAY_WIDTH } from "../../lib/nn/index.js";

describe("HighwayNetwork", () => {
  it("maps (N, in, H, W) to (N, out, H, W) and outputs zeros at initialisation", () => {
    torch.manualSeed(10);
    const net = new HighwayNetwork(3, 6, { hidden: 16 });
    const x = torch.randn([2, 3, 8, 8]);
    const y = net.forward(x);
    expect(y.shape).toEqual([2, 6, 8, 8]);
    expect(y.abs().max().item()).toBe(0);
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      "input.weight",
      "input.bias",
      ...[0, 1, 2].flatMap((i) => [`layers.${i}.conv.weight`, `layers.${i}.conv.bias`, `layers.${i}.gate.weight`, `layers.${i}.gate.bias`]),
      "output.weight",
      "output.bias",
    ]);
    // The zero output layer still learns: its weight gets a non-zero gradient.
    net
      .forward(x)
      .mul(torch.randn([2, 6, 8, 8]))
      .sum()
      .backward();
    expect(net.output.weight.grad!.abs().sum().item()).toBeGreaterThan(0);
    // Once its weights move, the output is no longer zero.
    torch.noGrad(() => net.output.weight.fill_(0.01));
    expect(net.forward(x).abs().max().item()).toBeGreaterThan(0);
    net.dispose();
  });

  it("uses the paper's widths and its fan-in truncated-normal initialisation", () => {
    expect(HIGHWAY_WIDTH).toEqual({ mnist: 200, cifar: 400 });
    const net = new HighwayNetwork(1, 2, { hidden: HIGHWAY_WIDTH.mnist, layers: 3 });
    expect(net.input.weight.shape).toEqual([200, 1, 3, 3]);
    const w = net.layers.get(0).conv.weight; // fan-in 200*9: std sqrt(1/1800), truncated at 2 std
    const std = Math.sqrt(1 / 1800);
    expect(w.abs().max().item()).toBeLessThanOrEqual(2 * std + 1e-7);
    expect(w.std().item()).toBeGreaterThan(0.8 * std);
    expect(w.std().item()).toBeLessThan(0.95 * std);
    expect(net.layers.get(0).conv.bias!.abs().sum().item()).toBe(0);
    net.dispose();
  });

  it("computes each highway layer as g*relu(conv(x)) + (1-g)*x with g = sigmoid(conv_g(x))", () => {
    torch.manualSeed(11);
    const layer = new HighwayLayer(4);
    const x = torch.randn([2, 4, 5, 5]);
    const h = torch.conv2d(x, layer.conv.weight, layer.conv.bias, { padding: 1 }).relu();
    const g = torch.conv2d(x, layer.gate.weight, layer.gate.bias, { padding: 1 }).sigmoid();
    const want = g.mul(h).add(torch.onesLike(g).sub(g).mul(x));
    expect(layer.forward(x).sub(want).abs().max().item()).toBeLessThan(1e-6);
    layer.dispose();
  });

  it("back-propagates through the in-place activations as through the plain formula", () => {
    torch.manualSeed(12);
    const layer = new HighwayLayer(4);
    const r = torch.randn([2, 4, 5, 5]),
      xs = torch.randn([2, 4, 5, 5]);
    const gradsOf = (f: (x: torch.Tensor) => torch.Tensor) => {
      const x = xs.clone().requiresGrad_(true);
      for (const p of layer.parameters()) p.grad = null;
      f(x).mul(r).sum().backward();
      return [x.grad!, ...layer.parameters().map((p) => p.grad!)];
    };
    const ours = gradsOf((x) => layer.forward(x));
    const plain = gradsOf((x) => {
      const h = torch.conv2d(x, layer.conv.weight, layer.conv.bias, { padding: 1 }).relu();
      const g = torch.conv2d(x, layer.gate.weight, layer.gate.bias, { padding: 1 }).sigmoid();
      return g.mul(h).add(g.rsub(1).mul(x));
    });
    ours.forEach((g, i) => expect(g.sub(plain[i]!).abs().max().item()).toBeLessThan(1e-5));
    layer.dispose();
  });
});
