// Learning-rate schedules at and around their boundaries.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { Adam, applySchedule, constant, linearWarmup, multiply, piecewiseConstant } from "../../lib/optim/index.js";

describe("schedules", () => {
  it("piecewiseConstant: the paper's Glow halving at 80K and 90K", () => {
    const base = 1e-3;
    const s = piecewiseConstant(base, [80000, 90000], [0.5, 0.25]);
    expect(s(0)).toBe(base);
    expect(s(79999)).toBe(base);
    expect(s(80000)).toBe(base / 2);
    expect(s(89999)).toBe(base / 2);
    expect(s(90000)).toBe(base / 4);
    expect(s(1e6)).toBe(base / 4);
  });

  it("piecewiseConstant: PixelCNN's CIFAR decay by 1/3 at 120K, 180K, 195K", () => {
    const s = piecewiseConstant(3e-4, [120000, 180000, 195000], [1 / 3, 1 / 9, 1 / 27]);
    expect(s(119999)).toBe(3e-4);
    expect(s(120000)).toBeCloseTo(1e-4, 15);
    expect(s(179999)).toBeCloseTo(1e-4, 15);
    expect(s(180000)).toBeCloseTo(3e-4 / 9, 15);
    expect(s(194999)).toBeCloseTo(3e-4 / 9, 15);
    expect(s(195000)).toBeCloseTo(3e-4 / 27, 15);
    expect(() => piecewiseConstant(1, [1, 2], [0.5])).toThrow(/one factor per boundary/);
    expect(() => piecewiseConstant(1, [2, 1], [0.5, 0.25])).toThrow(/increase/);
  });

  it("linearWarmup ramps to the base rate, and composes with a decay", () => {
    const w = linearWarmup(1e-3, 100);
    expect(w(0)).toBeCloseTo(1e-5, 15);
    expect(w(49)).toBeCloseTo(5e-4, 15);
    expect(w(98)).toBeCloseTo(9.9e-4, 15);
    expect(w(99)).toBe(1e-3);
    expect(w(5000)).toBe(1e-3);
    expect(linearWarmup(1e-3, 0)(0)).toBe(1e-3);
    const both = linearWarmup(piecewiseConstant(1e-3, [80000, 90000], [0.5, 0.25]), 1000);
    expect(both(499)).toBeCloseTo(5e-4, 15);
    expect(both(79999)).toBe(1e-3);
    expect(both(80000)).toBe(5e-4);
    expect(both(90000)).toBe(2.5e-4);
    expect(multiply(constant(2), (s) => 1 / (1 + s))(3)).toBe(0.5);
  });

  it("applySchedule sets the optimizer's rate in every group", () => {
    const p = torch.zeros([1]).requiresGrad_(true);
    const q = torch.zeros([1]).requiresGrad_(true);
    const opt = new Adam([{ params: [p] }, { params: [q], lr: 5 }]);
    const s = piecewiseConstant(1e-3, [10], [0.5]);
    expect(applySchedule(opt, s, 10)).toBe(5e-4);
    expect(opt.lr).toBe(5e-4);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([5e-4, 5e-4]);
  });
});
