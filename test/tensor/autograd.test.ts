// Gradients against finite differences (float64) for every differentiable op the models use, and
// gradients of gradients.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { maxGradError } from "./gradcheck.js";

torch.manualSeed(0);
const pos = [0.3, 0.7, 1.2, 2.1, 0.9, 1.6];
const mixed = [-1.3, 0.4, 2.2, -0.6, 0.8, -2.4];
const w = () => torch.tensor(Float64Array.from([0.5, -0.3, 0.8, 0.1, -0.7, 0.2]), { shape: [2, 3] });

const cases: [string, (x: torch.Tensor) => torch.Tensor, number[]][] = [
  ["add/sub/mul/div", (x) => x.add(w()).mul(x).sub(1).div(w().add(2)), mixed],
  ["neg/exp/log/log1p", (x) => x.neg().exp().add(x.log()).add(x.log1p()), pos],
  ["sqrt/pow/abs", (x) => x.sqrt().add(x.pow(3)).add(x.abs()), pos],
  ["sigmoid/logsigmoid/softplus", (x) => x.sigmoid().add(x.logsigmoid()).add(x.softplus()), mixed],
  ["tanh/relu/elu/clamp", (x) => x.tanh().add(x.relu()).add(x.elu()).add(x.clamp(-1, 1)), mixed],
  ["where", (x) => torch.where(x.gt(0), x.mul(x), x.mul(3)), mixed],
  ["sum/mean/logsumexp", (x) => x.sum(1).add(x.mean(0).sum()).add(x.logsumexp(1)), mixed],
  ["max/min/var/std", (x) => x.max(1)[0].add(x.min(0)[0].sum()).add(x.var(1)).add(x.std()), mixed],
  [
    "view/permute/transpose/flatten",
    (x) =>
      x
        .view(3, 2)
        .permute(1, 0)
        .transpose(0, 1)
        .flatten()
        .mul(torch.arange(6, undefined, 1, { dtype: "float64" })),
    mixed,
  ],
  ["squeeze/unsqueeze/expand/repeat", (x) => x.unsqueeze(0).squeeze(0).unsqueeze(2).expand(2, 3, 2).repeat(1, 1, 2).mul(x.unsqueeze(2)).pow(2).sum(2), mixed],
  [
    "cat/stack/chunk/split/narrow",
    (x) => {
      const [a, b] = x.chunk(2, 1) as [torch.Tensor, torch.Tensor];
      const [c] = x.split([1, 2], 1) as [torch.Tensor];
      return torch
        .cat([a.mul(a), b.sum(1, true)], 1)
        .sum(1)
        .add(torch.stack([c, c], 0).sum(0).squeeze(1))
        .add(x.narrow(1, 1, 2).sum(1));
    },
    mixed,
  ],
  [
    "index_select/gather/slice",
    (x) =>
      x
        .indexSelect(1, torch.tensor([2, 0], { dtype: "int64" }))
        .mul(
          x.gather(
            1,
            torch.tensor(
              [
                [1, 1],
                [0, 2],
              ],
              { dtype: "int64" },
            ),
          ),
        )
        .add(x.slice(1, 1, null).sum(1, true)),
    mixed,
  ],
  ["matmul", (x) => x.matmul(w().T).matmul(x), mixed],
  [
    "slogdet",
    (x) =>
      torch.linalg.slogdet(
        x
          .view(2, 3)
          .matmul(x.view(2, 3).T)
          .add(torch.eye(2, 2, { dtype: "float64" })),
      ).logabsdet,
    mixed,
  ],
  [
    "lu (P L U)",
    (x) => {
      const m = x.view(2, 3).matmul(w().T);
      const { L, U } = torch.linalg.lu(m);
      return L.mul(2).add(U.pow(2));
    },
    mixed,
  ],
  ["qr", (x) => torch.linalg.qr(x.view(3, 2)).R.pow(2), mixed],
  ["conv2d", (x) => torch.conv2d(x.view(1, 1, 2, 3), w().view(1, 1, 2, 3).narrow(3, 0, 2), null, { padding: 1 }).pow(2), mixed],
  ["conv_transpose2d", (x) => torch.convTranspose2d(x.view(1, 2, 1, 3), w().view(2, 1, 1, 3), null, { stride: 2 }).pow(2), mixed],
  ["linear", (x) => torch.linear(x, w(), torch.tensor([1, 2], { dtype: "float64" })).pow(2), mixed],
  ["batch_norm (training)", (x) => torch.batchNorm(x.view(3, 2), null, null, { training: true }).mul(w().view(3, 2)), mixed],
  [
    "pad",
    (x) =>
      torch
        .pad(x.view(1, 2, 3), [1, 2], "constant", 0)
        .pow(2)
        .mul(torch.arange(12, undefined, 1, { dtype: "float64" }).view(1, 2, 6)),
    mixed,
  ],
  ["log_softmax/softmax", (x) => torch.logSoftmax(x, 1).mul(w()).add(torch.softmax(x, 0).mul(w())), mixed],
  [
    "cross_entropy/nll_loss",
    (x) => torch.crossEntropy(x, torch.tensor([2, 0], { dtype: "int64" })).add(torch.nllLoss(torch.logSoftmax(x, 1), torch.tensor([1, 1], { dtype: "int64" }))),
    mixed,
  ],
];

describe("gradients match finite differences in float64", () => {
  for (const [name, f, x0] of cases) {
    it(name, () => {
      expect(maxGradError(f, x0, [2, 3])).toBeLessThan(1e-6);
    });
  }
});

describe("autograd", () => {
  it("backward() accumulates into grad, also with an explicit gradient", () => {
    torch.tidy(() => {
      const x = torch.tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
      x.mul(x).sum().backward();
      expect(x.grad!.tolist()).toEqual([2, 4, 6]);
      x.mul(2).backward(torch.tensor([1, 0, 1], { dtype: "float64" }));
      expect(x.grad!.tolist()).toEqual([4, 4, 8]);
      x.grad = null;
      expect(x.grad).toBeNull();
      expect(x.detach().requiresGrad).toBe(false);
    });
  });

  it("gives Hessian-vector products through grad(..., {createGraph})", () => {
    torch.tidy(() => {
      // f(x) = sum(x^3) has Hessian diag(6x); H v = 6 x * v.
      const x = torch.tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
      const v = torch.tensor([1, -1, 2], { dtype: "float64" });
      const [g] = torch.autograd.grad(x.pow(3).sum(), x, { createGraph: true });
      const [hv] = torch.autograd.grad(g!.mul(v).sum(), x);
      expect(hv!.tolist()).toEqual([6, -12, 36]);
    });
  });

  it("records nothing under noGrad and restores the mode after it", () => {
    const x = torch.ones([2], { requiresGrad: true });
    const y = torch.noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(torch.isGradEnabled()).toBe(true);
    expect(() =>
      torch.noGrad(() => {
        throw new Error("inside");
      }),
    ).toThrow("inside");
    expect(torch.isGradEnabled()).toBe(true);
    expect(torch.enableGrad(() => torch.noGrad(() => x.mul(2)).requiresGrad)).toBe(false);
  });

  // Ops on tensors autograd has no record of skip its dispatch keys (native/dispatch.cc
  // below_autograd_if_untracked): what they return must still take part in a graph, and their in-place
  // changes must still be seen by the graphs that saved them.
  it("keeps results of ops on untracked tensors usable in graphs, and in-place changes to them caught", () => {
    torch.tidy(() => {
      const x = torch.tensor([1, 2, 3], { dtype: "float64" });
      const y = x.mul(2).add(x); // 3x, made below autograd
      expect(y.requiresGrad).toBe(false);
      y.requiresGrad_(true);
      y.mul(y).sum().backward();
      expect(y.grad!.tolist()).toEqual([6, 12, 18]);

      const w = torch.tensor([1, 1, 1], { dtype: "float64", requiresGrad: true });
      const s = x.sub(1); // untracked again
      const p = w.mul(s); // saves s for w's gradient
      s.add_(1); // in place: must bump the version that p's graph checks
      expect(() => p.sum().backward()).toThrow(/modified by an inplace operation/);

      // An untracked tensor beside a tracked one: the graph is built.
      const q = x.add(w).sum();
      expect(q.requiresGrad).toBe(true);
      q.backward();
      expect(w.grad!.tolist()).toEqual([1, 1, 1]);
    });
  });

  it("reports unused inputs as null with allowUnused", () => {
    const a = torch.ones([2], { requiresGrad: true }),
      b = torch.ones([2], { requiresGrad: true });
    const gs = torch.autograd.grad(a.mul(3).sum(), [a, b], { allowUnused: true });
    expect(gs[0]!.tolist()).toEqual([3, 3]);
    expect(gs[1]).toBeNull();
  });
});

describe("autograd refuses what it would silently misread", () => {
  it("an assigned gradient must be a Tensor of the parameter's shape, dtype and device", () => {
    const p = torch.zeros([3]).requiresGrad_(true);
    // Each was accepted: the [5] gradient stayed, the float64 one too, and 5 cleared the gradient.
    expect(() => (p.grad = torch.ones([5]))).toThrow(/grad: the assigned gradient has shape \[5\], the tensor \[3\]/);
    expect(() => (p.grad = torch.ones([1]))).toThrow(/shape \[1\], the tensor \[3\]/);
    expect(() => (p.grad = torch.ones([3], { dtype: "float64" }))).toThrow(/dtype Double, the tensor Float/);
    expect(() => (p.grad = 5 as unknown as torch.Tensor)).toThrow(/grad: expected a Tensor or null, got the number 5/);
    expect(() => (p.grad = undefined as unknown as torch.Tensor)).toThrow(/expected a Tensor or null, got undefined/);
    expect(p.grad).toBeNull();
    p.grad = torch.full([3], 2, { dtype: "float32" });
    expect(p.grad!.tolist()).toEqual([2, 2, 2]);
    p.grad = null;
    expect(p.grad).toBeNull();
  });
  it("backward(5) and gradOutputs of numbers are errors, not a gradient of ones", () => {
    const x = torch.tensor([1, 2, 3]).requiresGrad_(true);
    const y = () => x.mul(x);
    expect(() =>
      y()
        .sum()
        .backward(5 as unknown as torch.Tensor),
    ).toThrow(/backward\(\): the gradient must be a Tensor, got the number 5/);
    expect(x.grad).toBeNull();
    expect(() => torch.autograd.grad(y(), x, { gradOutputs: [3 as unknown as torch.Tensor] })).toThrow(
      /grad\(\): gradOutputs\[0\] must be a Tensor or null, got the number 3/,
    );
    expect(() => torch.autograd.backward([y()], [3 as unknown as torch.Tensor])).toThrow(/gradOutputs\[0\] must be a Tensor or null/);
    expect(() => torch.autograd.grad(y().sum(), [x, 4 as unknown as torch.Tensor])).toThrow(/inputs\[1\] must be a Tensor, got the number 4/);
    const [g] = torch.autograd.grad(y(), x, { gradOutputs: [torch.tensor([1, 0, 2])] });
    expect(g!.tolist()).toEqual([2, 0, 12]);
    y().backward(torch.tensor([1, 1, 0]));
    expect(x.grad!.tolist()).toEqual([2, 4, 0]);
  });
});
