// Bad input is a JS error with LibTorch's message, never a crash.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { tensorOp } from "../../lib/tensor/index.js";

describe("errors", () => {
  it("shape mismatches carry LibTorch's message", () => {
    expect(() => torch.ones([2, 3]).add(torch.ones([4]))).toThrow(/size of tensor a \(3\) must match the size of tensor b \(4\)/);
    expect(() => torch.ones([2, 3]).matmul(torch.ones([2, 3]))).toThrow(/cannot be multiplied/);
    expect(() => torch.ones([6]).view(4, 2)).toThrow(/invalid for input of size 6/);
  });
  it("wrong dtypes and devices", () => {
    expect(() => torch.ones([2, 2]).matmul(torch.ones([2, 2], { dtype: "float64" }))).toThrow(/dtype|same/i);
    expect(() => torch.tensor([1.5]).gather(0, torch.tensor([0]))).toThrow(/int64|Long/i);
    if (!torch.cuda.isAvailable()) expect(() => torch.ones([1]).to("cuda")).toThrow(/CUDA|cuda/);
    expect(() => torch.ones([1]).to("tpu" as torch.Device)).toThrow(/unknown dtype|unknown device/);
  });
  it("bad argument types name the argument", () => {
    const add = tensorOp("aten::add.Tensor");
    expect(() => add(torch.ones([1]), "x" as unknown as torch.Tensor)).toThrow(/expected a Tensor/);
    expect(() => tensorOp("aten::sum.dim_IntList")(torch.ones([2]), "a" as unknown as number)).toThrow(/argument 'dim' must be an array of integers/);
    expect(() => tensorOp("aten::no_such_op")()).toThrow(/unknown operator schema 'aten::no_such_op'/);
    expect(() => tensorOp("aten::neg")()).toThrow(/argument 'self' is required/);
    expect(() => torch.ones([1]).item.call(torch.ones([3]))).toThrow(/3 elements/);
  });
  it("LibTorch's internal assertions become errors too", () => {
    expect(() => torch.linalg.slogdet(torch.ones([2, 3]))).toThrow(/square/);
    expect(() => torch.randint(5, 1, [2])).toThrow(/from.*to|must be/i);
    expect(() => torch.setNumThreads(0)).toThrow(/at least 1/);
  });
});

describe("the unboxed fast path", () => {
  it("serves the commonest signatures and gives the same results and errors as the boxed path", async () => {
    const { native } = await import("../../lib/tensor/native.js");
    const before = native.stats().unboxedOps;
    for (const s of ["aten::atan2", "aten::hardtanh", "aten::conv1d"]) native.op(s);
    expect(native.stats().unboxedOps - before).toBe(2); // atan2 (T,T) and conv1d; hardtanh has (T,S,S)
    const x = torch.randn([1, 2, 6, 6]), w = torch.randn([3, 2, 3, 3]), b = torch.randn([3]);
    const fast = torch.conv2d(x, w, b, { padding: 1, stride: [2, 1] });
    const boxed = tensorOp("aten::convolution")(x, w, b, [2, 1], [1, 1], [1, 1], false, [0, 0], 1);
    expect(fast.sub(boxed).abs().max().item()).toBeLessThan(1e-5);
    expect(() => torch.conv2d(x, torch.randn([3, 5, 3, 3]))).toThrow(/expected input.*to have 5 channels|channels/);
    expect(() => tensorOp("aten::atan2")(x)).toThrow(/argument 'other' is required/);
  });
});
