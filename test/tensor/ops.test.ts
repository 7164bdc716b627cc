// Op results against known values.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";

const T = (x: torch.NestedArray, dtype: torch.DType = "float64") => torch.tensor(x, { dtype });
const close = (t: torch.Tensor, expected: torch.NestedArray, tol = 1e-6) => {
  const got = t.toFlatArray();
  const want = ([expected] as unknown[]).flat(Infinity) as number[];
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!))));
};

describe("creation", () => {
  it("makes zeros, ones, full, eye, arange with PyTorch's dtypes", () => {
    expect(torch.zeros([2, 3]).tolist()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(torch.ones([2]).dtype).toBe("float32");
    expect(torch.full([2], 7, { dtype: "int64" }).tolist()).toEqual([7, 7]);
    expect(torch.eye(2).tolist()).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(torch.arange(5).tolist()).toEqual([0, 1, 2, 3, 4]);
    expect(torch.arange(5).dtype).toBe("int64");
    expect(torch.arange(0, 1, 0.25).tolist()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(torch.linspace(0, 1, 3).tolist()).toEqual([0, 0.5, 1]);
  });

  it("round-trips TypedArrays and nested arrays", () => {
    const a = torch.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data() as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(
      torch
        .tensor(
          [
            [1, 2],
            [3, 4],
          ],
          { dtype: "int32" },
        )
        .data(),
    ).toEqual(new Int32Array([1, 2, 3, 4]));
    expect(torch.tensor([true, false]).dtype).toBe("bool");
    expect(torch.scalar(3.5).item()).toBe(3.5);
    expect(torch.scalar(3.5).shape).toEqual([]);
    expect(() => torch.tensor([[1, 2], [3]])).toThrow(/ragged/);
  });

  it("draws reproducible random numbers from a global seed", () => {
    torch.manualSeed(123);
    const a = torch.randn([5]).toFlatArray();
    const u = torch.rand([1000]);
    const i = torch.randint(3, 7, [1000]);
    torch.manualSeed(123);
    expect(torch.randn([5]).toFlatArray()).toEqual(a);
    expect(u.min().item()).toBeGreaterThanOrEqual(0);
    expect(u.max().item()).toBeLessThan(1);
    expect(i.min().item()).toBe(3);
    expect(i.max().item()).toBe(6);
  });
});

describe("element-wise math", () => {
  const x = () => T([-2, -0.5, 0, 0.5, 2]);
  it("computes unary functions", () => {
    close(x().neg(), [2, 0.5, -0, -0.5, -2]);
    close(x().exp(), [-2, -0.5, 0, 0.5, 2].map(Math.exp));
    close(x().abs().log1p(), [2, 0.5, 0, 0.5, 2].map(Math.log1p));
    close(x().abs().sqrt(), [2, 0.5, 0, 0.5, 2].map(Math.sqrt));
    close(
      x().sigmoid(),
      [-2, -0.5, 0, 0.5, 2].map((v) => 1 / (1 + Math.exp(-v))),
    );
    close(
      x().logsigmoid(),
      [-2, -0.5, 0, 0.5, 2].map((v) => -Math.log1p(Math.exp(-v))),
    );
    close(
      x().softplus(),
      [-2, -0.5, 0, 0.5, 2].map((v) => Math.log1p(Math.exp(v))),
    );
    close(x().tanh(), [-2, -0.5, 0, 0.5, 2].map(Math.tanh));
    close(x().relu(), [0, 0, 0, 0.5, 2]);
    close(
      x().elu(),
      [-2, -0.5, 0, 0.5, 2].map((v) => (v > 0 ? v : Math.expm1(v))),
    );
    close(x().clamp(-1, 1), [-1, -0.5, 0, 0.5, 1]);
    close(x().pow(2), [4, 0.25, 0, 0.25, 4]);
    close(
      x()
        .abs()
        .pow(T([1, 2, 3, 2, 1])),
      [2, 0.25, 0, 0.25, 2],
    );
  });

  it("broadcasts binary ops and scalars, keeping int dtypes for integral scalars", () => {
    close(T([[1], [2]]).add(T([10, 20])), [
      [11, 21],
      [12, 22],
    ]);
    close(T([1, 2]).sub(T([1, 1]), 2), [-1, 0]);
    close(T([1, 2]).mul(3).div(2), [1.5, 3]);
    expect(torch.arange(3).add(1).dtype).toBe("int64");
    expect(torch.arange(3).mul(0.5).dtype).toBe("float32");
    close(torch.where(T([1, 0, 1]).gt(0), T([1, 2, 3]), T([-1, -2, -3])), [1, -2, 3]);
    expect(T([1, 2, 3]).ge(2).tolist()).toEqual([0, 1, 1]);
    expect(T([1, 2, 3]).eq(T([1, 0, 3])).dtype).toBe("bool");
  });

  it("updates in place and returns the same object", () => {
    const a = T([1, 2]);
    expect(a.add_(1)).toBe(a);
    expect(a.mul_(T([2, 3]))).toBe(a);
    close(a, [4, 9]);
    a.addcmul_(T([1, 1]), T([2, 2]), 0.5).addcdiv_(T([4, 4]), T([2, 4]));
    close(a, [7, 11]);
    expect(a.zero_().tolist()).toEqual([0, 0]);
  });
});

describe("reductions", () => {
  const m = () =>
    T([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  it("reduces over all elements and over dims with keepdim", () => {
    expect(m().sum().item()).toBe(21);
    close(m().sum(1), [6, 15]);
    expect(m().sum(1, true).shape).toEqual([2, 1]);
    close(m().mean(0), [2.5, 3.5, 4.5]);
    close(m().sum([0, 1]), [21]);
    close(m().logsumexp(1), [Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), Math.log(Math.exp(4) + Math.exp(5) + Math.exp(6))]);
    expect(m().max().item()).toBe(6);
    const [vals, idx] = m().max(1);
    close(vals, [3, 6]);
    expect(idx.tolist()).toEqual([2, 2]);
    expect(m().min(0)[0].tolist()).toEqual([1, 2, 3]);
    expect(m().argmax().item()).toBe(5);
    close(m().var(1), [1, 1]);
    close(m().var(1, { correction: 0 }), [2 / 3, 2 / 3]);
    close(m().std(), [Math.sqrt(3.5)]);
  });
});

describe("shape ops", () => {
  const a = () => torch.arange(6, undefined, 1, { dtype: "float64" });
  it("views, permutes and reshapes", () => {
    expect(a().view(2, 3).tolist()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(a().reshape([3, 2]).transpose(0, 1).tolist()).toEqual([
      [0, 2, 4],
      [1, 3, 5],
    ]);
    expect(a().view(1, 2, 3).permute(2, 0, 1).shape).toEqual([3, 1, 2]);
    expect(a().view(2, 3).flatten().shape).toEqual([6]);
    expect(a().view(1, 6, 1).squeeze().shape).toEqual([6]);
    expect(a().view(1, 6, 1).squeeze(0).shape).toEqual([6, 1]);
    expect(a().unsqueeze(0).shape).toEqual([1, 6]);
    expect(T([1, 2]).view(2, 1).expand(2, 3).tolist()).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    expect(T([1, 2]).repeat(2).tolist()).toEqual([1, 2, 1, 2]);
    expect(a().view(2, 3).transpose(0, 1).isContiguous()).toBe(false);
    expect(a().view(2, 3).transpose(0, 1).contiguous().isContiguous()).toBe(true);
  });
  it("joins, splits, slices and indexes", () => {
    expect(torch.cat([T([1]), T([2, 3])]).tolist()).toEqual([1, 2, 3]);
    expect(torch.stack([T([1, 2]), T([3, 4])], 1).tolist()).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(
      a()
        .chunk(3)
        .map((c) => c.tolist()),
    ).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(
      a()
        .split([1, 5])
        .map((c) => c.shape[0]),
    ).toEqual([1, 5]);
    expect(a().narrow(0, 2, 3).tolist()).toEqual([2, 3, 4]);
    expect(a().slice(0, 1, null, 2).tolist()).toEqual([1, 3, 5]);
    expect(a().slice(0, -2).tolist()).toEqual([4, 5]);
    expect(
      a()
        .indexSelect(0, torch.tensor([5, 0], { dtype: "int64" }))
        .tolist(),
    ).toEqual([5, 0]);
    expect(
      a()
        .view(2, 3)
        .gather(1, torch.tensor([[2], [0]], { dtype: "int64" }))
        .tolist(),
    ).toEqual([[2], [3]]);
    expect(a().view(2, 3).select(1, 1).tolist()).toEqual([1, 4]);
  });
});

describe("linear algebra", () => {
  it("matmul, slogdet, QR and LU", () => {
    const A = T([
      [2, 1],
      [1, 3],
    ]);
    expect(A.matmul(T([[1], [1]])).tolist()).toEqual([[3], [4]]);
    const { sign, logabsdet } = torch.linalg.slogdet(
      T([
        [0, 2],
        [3, 0],
      ]),
    );
    expect(sign.item()).toBe(-1);
    expect(logabsdet.item()).toBeCloseTo(Math.log(6), 12);
    const { Q, R } = torch.linalg.qr(A);
    close(
      Q.matmul(R),
      [
        [2, 1],
        [1, 3],
      ],
      1e-12,
    );
    close(
      Q.T.matmul(Q),
      [
        [1, 0],
        [0, 1],
      ],
      1e-12,
    );
    const B = T([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 9],
    ]);
    const { LU, pivots } = torch.linalg.luFactor(B);
    const { P, L, U } = torch.linalg.luUnpack(LU, pivots);
    close(P.matmul(L).matmul(U), B.tolist(), 1e-12);
    expect(L.diagonal().tolist()).toEqual([1, 1, 1]);
  });
});

describe("neural-net functions", () => {
  it("conv2d, conv_transpose2d and linear", () => {
    const x = torch.ones([1, 1, 3, 3], { dtype: "float64" });
    const w = torch.ones([1, 1, 3, 3], { dtype: "float64" });
    expect(torch.conv2d(x, w, null, { padding: 1 }).tolist()).toEqual([
      [
        [
          [4, 6, 4],
          [6, 9, 6],
          [4, 6, 4],
        ],
      ],
    ]);
    expect(torch.convTranspose2d(torch.ones([1, 1, 2, 2]), torch.ones([1, 1, 2, 2]), null, { stride: 2 }).shape).toEqual([1, 1, 4, 4]);
    expect(
      torch
        .linear(
          T([[1, 2]]),
          T([
            [1, 1],
            [0, 1],
          ]),
          T([0, 10]),
        )
        .tolist(),
    ).toEqual([[3, 12]]);
  });
  it("batch_norm, dropout, pad", () => {
    const x = T([[1], [3]]);
    close(torch.batchNorm(x, null, null, { training: true, eps: 0 }), [-1, 1]);
    expect(
      torch
        .dropout(torch.ones([100]), 0.5, false)
        .sum()
        .item(),
    ).toBe(100);
    const d = torch.dropout(torch.ones([10000]), 0.5, true);
    expect(d.eq(0).sum().item()).toBeGreaterThan(4000);
    expect(d.max().item()).toBe(2);
    expect(torch.pad(T([[1]]), [1, 1, 0, 0]).tolist()).toEqual([[0, 1, 0]]);
  });
  it("softmax, log_softmax, cross_entropy and nll_loss", () => {
    const logits = T([
      [1, 2, 3],
      [1, 1, 1],
    ]);
    close(torch.softmax(logits, 1).sum(1), [1, 1]);
    const lsm = torch.logSoftmax(logits, 1);
    const target = torch.tensor([2, 0], { dtype: "int64" });
    const manual = -(lsm.tolist() as number[][])[0]![2]! - (lsm.tolist() as number[][])[1]![0]!;
    expect(torch.crossEntropy(logits, target, { reduction: "sum" }).item()).toBeCloseTo(manual, 12);
    expect(torch.nllLoss(lsm, target).item()).toBeCloseTo(manual / 2, 12);
    expect(torch.crossEntropy(logits, target, { reduction: "none" }).shape).toEqual([2]);
  });
});

describe("devices and dtypes", () => {
  it("converts dtypes and reports the device", () => {
    const a = T([1.7, -1.2]);
    expect(a.to("int32").tolist()).toEqual([1, -1]);
    expect(a.float().dtype).toBe("float32");
    expect(a.cpu().device).toBe("cpu");
    expect(torch.defaultDevice()).toBe(torch.cuda.isAvailable() ? "cuda" : "cpu");
  });
});

describe("random state", () => {
  it("restores the generator state so draws repeat", () => {
    torch.manualSeed(5);
    torch.randn([3]).dispose();
    const state = torch.getRngState();
    const a = torch.randn([4]).toFlatArray();
    torch.randn([10]).dispose();
    torch.setRngState(state);
    expect(torch.randn([4]).toFlatArray()).toEqual(a);
    expect(() => torch.setRngState(torch.ones([2]))).toThrow();
  });
});
