// Initialisers: bounds, spreads, fans and orthogonality.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { init } from "../../lib/nn/index.js";

describe("init", () => {
  it("computes fans for Linear and Conv weights", () => {
    expect(init.fanIn(torch.empty([10, 20]))).toBe(20);
    expect(init.fanIn(torch.empty([8, 3, 5, 5]))).toBe(75);
    expect(init.fanOut(torch.empty([8, 3, 5, 5]))).toBe(200);
    expect(() => init.fanIn(torch.empty([4]))).toThrow(/at least 2 dims/);
  });

  it("truncatedNormal_ stays within 2 std with the truncated normal's spread (0.88 std)", () => {
    torch.manualSeed(14);
    const w = torch.empty([400, 100]);
    const std = Math.sqrt(1 / init.fanIn(w));
    expect(init.truncatedNormal_(w, std)).toBe(w);
    expect(w.abs().max().item()).toBeLessThanOrEqual(2 * std * (1 + 1e-6));
    expect(w.abs().max().item()).toBeGreaterThan(1.9 * std);
    expect(w.std().item() / std).toBeCloseTo(0.8796, 2);
    expect(Math.abs(w.mean().item())).toBeLessThan(0.01 * std);
    const shifted = init.truncatedNormal_(torch.empty([10000], { dtype: "float64" }), 2, 5);
    expect(shifted.min().item()).toBeGreaterThanOrEqual(1);
    expect(shifted.max().item()).toBeLessThanOrEqual(9);
    expect(shifted.mean().item()).toBeCloseTo(5, 1);
  });

  it("varianceScalingUniform_ and kaimingUniform_ use their bounds", () => {
    torch.manualSeed(15);
    const w = torch.empty([64, 16, 3, 3]); // fan_in 144, fan_out 576
    init.varianceScalingUniform_(w, 2, "fan_in");
    const l = Math.sqrt(6 / 144);
    expect(w.abs().max().item()).toBeLessThanOrEqual(l);
    expect(w.abs().max().item()).toBeGreaterThan(0.99 * l);
    expect(w.var().item()).toBeCloseTo(2 / 144, 3);
    init.varianceScalingUniform_(w, 1, "fan_avg");
    expect(w.abs().max().item()).toBeLessThanOrEqual(Math.sqrt(3 / 360));
    init.kaimingUniform_(w);
    expect(w.abs().max().item()).toBeLessThanOrEqual(1 / 12);
    expect(w.abs().max().item()).toBeGreaterThan(0.99 / 12);
    init.kaimingUniform_(w, 0); // ReLU gain: bound sqrt(6/fan_in)
    expect(w.abs().max().item()).toBeGreaterThan(0.99 * Math.sqrt(6 / 144));
  });

  it("normal_, zeros_ and constant_ fill in place without autograd", () => {
    torch.manualSeed(16);
    const p = torch.empty([100, 100]).requiresGrad_(true);
    init.normal_(p);
    expect(p.std().item()).toBeCloseTo(0.02, 3);
    expect(p.requiresGrad).toBe(true);
    init.zeros_(p);
    expect(p.abs().sum().item()).toBe(0);
    init.constant_(p, 3);
    expect(p.mean().item()).toBe(3);
  });

  it("orthogonal_ gives orthonormal rows or columns", () => {
    torch.manualSeed(17);
    const wide = init.orthogonal_(torch.empty([3, 8]));
    expect(wide.matmul(wide.t()).sub(torch.eye(3)).abs().max().item()).toBeLessThan(1e-5);
    const tall = init.orthogonal_(torch.empty([8, 2, 1, 1]), 2);
    const m = tall.view(8, 2);
    expect(m.t().matmul(m).sub(torch.eye(2).mul(4)).abs().max().item()).toBeLessThan(1e-5);
  });
});
