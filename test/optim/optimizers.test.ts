// RMSprop, Adam and Adamax against their update formulas written out by hand, and exact resumption.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { Adam, Adamax, Optimizer, RMSprop, type OptimizerStateDict } from "../../lib/optim/index.js";

const dir = mkdtempSync(join(tmpdir(), "torchts-optim-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A parameter p and a loss sum(C * p): the gradient is C at every step (before weight decay).
const P0 = [1.0, -2.0, 0.5];
const C = [0.5, -1.5, 2.0];
const WD = 0.1;
const makeParam = () => torch.tensor(P0, { dtype: "float64" }).requiresGrad_(true);
function computeGrad(p: torch.Tensor): void {
  p.grad = null;
  torch.tidy(() =>
    p
      .mul(torch.tensor(C, { dtype: "float64" }))
      .sum()
      .backward(),
  );
}
function run(opt: Optimizer, p: torch.Tensor, steps: number): number[] {
  for (let i = 0; i < steps; i++) {
    computeGrad(p);
    opt.step();
  }
  return p.toFlatArray();
}
const expectClose = (got: number[], want: number[], tol = 1e-12) =>
  got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!))));

/** The same element-wise update for every coordinate, written with JS numbers. */
function byHand(steps: number, update: (p: number, g: number, s: Record<string, number>, t: number) => number): number[] {
  return P0.map((p0, i) => {
    let p = p0;
    const s: Record<string, number> = {};
    for (let t = 1; t <= steps; t++) p = update(p, C[i]! + WD * p, s, t); // L2: g = grad + wd*p
    return p;
  });
}

describe("RMSprop", () => {
  it("matches sq = α·sq + (1-α)·g²; p -= lr·g/(√sq + eps) for one and two steps", () => {
    const lr = 0.01,
      alpha = 0.99,
      eps = 1e-8;
    const hand = (p: number, g: number, s: Record<string, number>) => {
      s.sq = alpha * (s.sq ?? 0) + (1 - alpha) * g * g;
      return p - (lr * g) / (Math.sqrt(s.sq) + eps);
    };
    for (const steps of [1, 2]) {
      const p = makeParam();
      const opt = new RMSprop([p], { lr, weightDecay: WD });
      expectClose(run(opt, p, steps), byHand(steps, hand));
      opt.dispose();
    }
  });

  it("with momentum and centering: buf = μ·buf + g/(√(sq - ḡ²) + eps); p -= lr·buf", () => {
    const lr = 0.01,
      alpha = 0.9,
      eps = 1e-8,
      mu = 0.8;
    const hand = (p: number, g: number, s: Record<string, number>) => {
      s.sq = alpha * (s.sq ?? 0) + (1 - alpha) * g * g;
      s.ga = alpha * (s.ga ?? 0) + (1 - alpha) * g;
      s.buf = mu * (s.buf ?? 0) + g / (Math.sqrt(s.sq - s.ga * s.ga) + eps);
      return p - lr * s.buf;
    };
    for (const steps of [1, 2, 3]) {
      const p = makeParam();
      const opt = new RMSprop([p], { lr, alpha, momentum: mu, centered: true, weightDecay: WD });
      expectClose(run(opt, p, steps), byHand(steps, hand), 1e-10);
      opt.dispose();
    }
  });
});

describe("Adam", () => {
  it("matches the bias-corrected update with eps outside the square root", () => {
    const lr = 0.05,
      b1 = 0.9,
      b2 = 0.999,
      eps = 1e-8;
    const hand = (p: number, g: number, s: Record<string, number>, t: number) => {
      s.m = b1 * (s.m ?? 0) + (1 - b1) * g;
      s.v = b2 * (s.v ?? 0) + (1 - b2) * g * g;
      const mHat = s.m / (1 - b1 ** t);
      const vHat = s.v / (1 - b2 ** t);
      return p - (lr * mHat) / (Math.sqrt(vHat) + eps);
    };
    for (const steps of [1, 2]) {
      const p = makeParam();
      const opt = new Adam([p], { lr, betas: [b1, b2], eps, weightDecay: WD });
      expectClose(run(opt, p, steps), byHand(steps, hand));
      opt.dispose();
    }
    // The first Adam step moves every coordinate by about lr against the sign of its gradient.
    const first = byHand(1, hand);
    P0.forEach((p0, i) => expect(first[i]! - p0).toBeCloseTo(-lr * Math.sign(C[i]! + WD * p0), 6));
  });
});

describe("Adamax", () => {
  it("matches u = max(β2·u, |g| + eps); p -= lr/(1-β1ᵗ)·m/u", () => {
    const lr = 0.02,
      b1 = 0.9,
      b2 = 0.99,
      eps = 1e-8;
    const hand = (p: number, g: number, s: Record<string, number>, t: number) => {
      s.m = b1 * (s.m ?? 0) + (1 - b1) * g;
      s.u = Math.max(b2 * (s.u ?? 0), Math.abs(g) + eps);
      return p - (lr / (1 - b1 ** t)) * (s.m / s.u);
    };
    for (const steps of [1, 2]) {
      const p = makeParam();
      const opt = new Adamax([p], { lr, betas: [b1, b2], eps, weightDecay: WD });
      expectClose(run(opt, p, steps), byHand(steps, hand));
      opt.dispose();
    }
  });
});

describe.each([
  ["RMSprop", (ps: torch.Tensor[]) => new RMSprop(ps, { lr: 0.01, momentum: 0.9, centered: true, weightDecay: WD })],
  ["Adam", (ps: torch.Tensor[]) => new Adam(ps, { lr: 0.01, weightDecay: WD })],
  ["Adamax", (ps: torch.Tensor[]) => new Adamax(ps, { lr: 0.01, weightDecay: WD })],
] as const)("%s state dict", (name, make) => {
  it("resumes exactly from a saved state dict (through safetensors + JSON)", () => {
    const p = makeParam();
    const opt = make([p]);
    run(opt, p, 3);
    opt.lr = 0.003; // a schedule moved the rate: it is part of the state
    const sd = opt.stateDict();
    expect(Object.keys(sd.tensors).every((k) => k.startsWith("state.0."))).toBe(true);
    expect(sd.meta.state).toEqual({ 0: { step: 3 } });
    const path = join(dir, `${name}.safetensors`);
    torch.saveSafetensors(path, sd.tensors, { optimizer: JSON.stringify(sd.meta) });

    // A fresh process would rebuild the parameter from the model checkpoint and the optimizer from this.
    const q = torch.tensor(p.toFlatArray(), { dtype: "float64" }).requiresGrad_(true);
    const resumed = make([q]);
    const loaded = torch.loadSafetensors(path);
    const restored: OptimizerStateDict = { tensors: loaded.tensors, meta: JSON.parse(loaded.metadata.optimizer!) };
    resumed.loadStateDict(restored);
    torch.dispose(loaded.tensors); // loadStateDict copied them
    expect(resumed.lr).toBe(0.003);

    const fresh = make([torch.tensor(p.toFlatArray(), { dtype: "float64" }).requiresGrad_(true)]);
    fresh.lr = 0.003;
    const fp = fresh.paramGroups[0]!.params[0]!;
    expect(run(resumed, q, 2)).toEqual(run(opt, p, 2)); // bit for bit
    expect(run(fresh, fp, 2)).not.toEqual(q.toFlatArray()); // without the state the steps differ
    for (const o of [opt, resumed, fresh]) o.dispose();
  });
});

describe("Optimizer", () => {
  it("takes parameter groups with their own hyperparameters, and skips parameters without gradients", () => {
    const a = torch.tensor([1.0], { dtype: "float64" }).requiresGrad_(true);
    const b = torch.tensor([1.0], { dtype: "float64" }).requiresGrad_(true);
    const c = torch.tensor([1.0], { dtype: "float64" }).requiresGrad_(true);
    const opt = new Adam([{ params: [a], lr: 0.1 }, { params: [b, c] }], { lr: 0.01 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.01]);
    a.mul(2).sum().add(b.mul(2).sum()).backward();
    opt.step();
    expect(a.item()).toBeCloseTo(0.9, 6);
    expect(b.item()).toBeCloseTo(0.99, 6);
    expect(c.item()).toBe(1);
    expect(Object.keys(opt.stateDict().tensors)).toEqual(["state.0.exp_avg", "state.0.exp_avg_sq", "state.1.exp_avg", "state.1.exp_avg_sq"]);
    expect(opt.stateDict().meta.paramGroups.map((g) => g.params)).toEqual([[0], [1, 2]]);
    opt.lr = 0.5;
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.5, 0.5]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(() => new Adam([a, a])).toThrow(/more than one place/);
    expect(() => opt.loadStateDict({ tensors: {}, meta: { state: {}, paramGroups: [{ lr: 1, params: [0] }] } })).toThrow(/1 parameter groups/);
    opt.dispose();
  });
});

describe("optimizer options", () => {
  const p = () => torch.zeros([3]).requiresGrad_(true);
  it("are validated: a bad value names the field and what it takes", () => {
    // Each was accepted, and training went on with NaN weights or never moved.
    expect(() => new Adam([p()], { lr: Number.NaN })).toThrow(/Adam: lr: .*finite.*got NaN/i);
    expect(() => new Adam([p()], { lr: -1 })).toThrow(/Adam: lr: .*>=0|Adam: lr: .*non-negative|Adam: lr: .*at least 0/i);
    expect(() => new Adam([p()], { betas: [1, 0.999] })).toThrow(/Adam: betas\.0: .*less than 1|Adam: betas\.0: .*<1/i);
    expect(() => new Adam([p()], { betas: [0.9] as unknown as [number, number] })).toThrow(/Adam: betas/);
    expect(() => new Adam([p()], { eps: -1e-8 })).toThrow(/Adam: eps/);
    expect(() => new RMSprop([p()], { alpha: 1.5 })).toThrow(/RMSprop: alpha/);
    expect(() => new RMSprop([p()], { momentum: -0.1 })).toThrow(/RMSprop: momentum/);
    expect(() => new Adamax([p()], { weightDecay: Number.POSITIVE_INFINITY })).toThrow(/Adamax: weightDecay/);
    // A typo is an error naming the key, not a default used in silence.
    expect(() => new Adam([p()], { learningRate: 0.1 } as unknown as { lr: number })).toThrow(/Adam: unrecognized key.*"learningRate"/i);
    expect(() => new Adam([{ params: [p()], lr: Number.NaN }])).toThrow(/Adam: paramGroups\.0\.lr/);
    expect(() => new Adam([p()], { lr: 0.1, betas: [0.5, 0.9], eps: 1e-6, weightDecay: 0.01 })).not.toThrow();
  });
  it("a learning rate set later (schedules) or loaded from a state dict is checked too", () => {
    const opt = new Adam([p()]);
    expect(() => (opt.lr = Number.NaN)).toThrow(/Adam: lr: .*got NaN/i);
    expect(opt.lr).toBe(1e-3);
    expect(() =>
      opt.loadStateDict({ tensors: {}, meta: { state: {}, paramGroups: [{ lr: -2, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, params: [0] }] } }),
    ).toThrow(/Adam.loadStateDict: paramGroups\.0\.lr/);
    expect(opt.lr).toBe(1e-3);
  });
  it("step() refuses a gradient of another shape than its parameter instead of broadcasting it", () => {
    const q = p();
    const opt = new Adam([q], { lr: 0.1 });
    q.grad = torch.ones([3]);
    torch.tensorOp("aten::resize_")(q.grad!, [1]); // the only way left to reshape a gradient in place
    expect(() => opt.step()).toThrow(/Adam.step: parameter 0 has shape \[3\], its gradient \[1\]/);
    expect(q.tolist()).toEqual([0, 0, 0]);
  });
});
