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
    expect(() => torch.ones([1]).to("tpu" as torch.Device)).toThrow(/'tpu' is neither a dtype .* nor a device \('cpu', 'cuda', 'cuda:N'\)/);
    // Neither a dtype nor a device: say both were tried (it said "unknown dtype").
    expect(() => torch.ones([1]).to("nonsense" as torch.Device)).toThrow(/'nonsense' is neither a dtype \(.*float32.*\) nor a device/);
  });
  it("numbers that are not integers are errors where an integer is expected, not truncated", () => {
    expect(() => torch.zeros([Number.NaN])).toThrow(/argument 'size' must be an array of integers, got NaN at index 0/);
    expect(() => torch.zeros([2, Infinity])).toThrow(/got Infinity at index 1/);
    expect(() => torch.zeros([2.5])).toThrow(/got 2.5 at index 0/);
    const x = torch.arange(4);
    expect(() => x.select(0, 2.9)).toThrow(/argument 'index' must be an integer, got 2.9/);
    expect(() => x.select(0, Number.NaN)).toThrow(/argument 'index' must be an integer, got NaN/);
    expect(x.select(0, 2).item()).toBe(2);
    expect(() => tensorOp("aten::sum.dim_IntList")(torch.ones([2]), ["0"] as unknown as number[])).toThrow(/got '0' at index 0/);
  });
  it("dtype and memory-format codes out of range are errors", () => {
    const empty = tensorOp("aten::empty.memory_format");
    expect(() => empty([2], 99)).toThrow(/argument 'dtype' must be a dtype code \(0 to \d+\), got 99/);
    expect(() => empty([2], null, null, null, null, 17)).toThrow(/argument 'memory_format' must be a memory format code .* got 17/);
    expect(() => empty([2], null, null, null, null, 0.5)).toThrow(/must be a memory format code, got 0.5/);
    expect(empty([2], 6, null, null, null, 0).shape).toEqual([2]);
  });
  it("tensor() takes numbers and booleans only (a string or an object was NaN)", () => {
    expect(() => torch.tensor("abc" as unknown as number)).toThrow(/tensor\(\): expected numbers or booleans, got the string 'abc'/);
    expect(() => torch.tensor([1, "2", {}] as unknown as number[])).toThrow(/got the string '2' at flat index 1/);
    expect(() => torch.tensor([[1], [{}]] as unknown as number[][])).toThrow(/got object at flat index 1/);
    expect(torch.tensor([1, 2.5]).tolist()).toEqual([1, 2.5]);
    expect(Number.isNaN(torch.tensor([Number.NaN]).item())).toBe(true); // NaN itself is a number
  });
  it("an op that returns a number is not taken for a tensor handle", () => {
    const x = torch.ones([2, 3]);
    const other = torch.full([1], 5);
    expect(() => tensorOp("aten::numel")(x)).toThrow(/aten::numel returns \(int\), not one Tensor: use valueOp\("aten::numel"\)/);
    expect(torch.valueOp("aten::numel")(x)).toBe(6);
    expect(() => torch.valueOp("aten::neg")(x)).toThrow(/returns \(Tensor\), not a plain value: use tensorOp/);
    expect(() => torch.tensorsOp("aten::numel")(x)).toThrow(/not Tensors/);
    expect(other.item()).toBe(5); // still alive
    expect(x.allclose(torch.ones([2, 3]))).toBe(true);
    expect(x.isContiguous()).toBe(true);
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
    expect(native.stats().unboxedOps - before).toBe(3); // atan2 (T,T), hardtanh (T,S,S) and conv1d
    const x = torch.randn([1, 2, 6, 6]),
      w = torch.randn([3, 2, 3, 3]),
      b = torch.randn([3]);
    const fast = torch.conv2d(x, w, b, { padding: 1, stride: [2, 1] });
    const boxed = tensorOp("aten::convolution")(x, w, b, [2, 1], [1, 1], [1, 1], false, [0, 0], 1);
    expect(fast.sub(boxed).abs().max().item()).toBeLessThan(1e-5);
    expect(() => torch.conv2d(x, torch.randn([3, 5, 3, 3]))).toThrow(/expected input.*to have 5 channels|channels/);
    expect(() => tensorOp("aten::atan2")(x)).toThrow(/argument 'other' is required/);
  });
});

describe("nothing silently wrong in making and reading tensors", () => {
  it("a shape that is not non-negative integers is an error, never truncated", () => {
    // The TypedArray path truncated: [2.9] gave [2]; [NaN] and [4, 1.5] were taken too.
    expect(() => torch.tensor(new Float32Array(2), { shape: [2.9] })).toThrow(/shape must be non-negative integers, got 2.9 at index 0/);
    expect(() => torch.tensor(new Float32Array(2), { shape: [Number.NaN] })).toThrow(/got NaN at index 0/);
    expect(() => torch.tensor(new Float32Array(6), { shape: [4, 1.5] })).toThrow(/got 1.5 at index 1/);
    expect(() => torch.tensor(new Float32Array(2), { shape: [-2] })).toThrow(/got -2 at index 0/);
    expect(() => torch.tensor([1, 2], { shape: [2.5] })).toThrow(/got 2.5 at index 0/);
    expect(() => torch.tensor(new Float32Array(2), { shape: [2 ** 40, 2 ** 40] })).toThrow(/bytes do not fill shape/);
    expect(torch.tensor(new Float32Array(6), { shape: [2, 3] }).shape).toEqual([2, 3]);
  });
  it("values an integer dtype cannot hold are an error (PyTorch raises), not wrapped", () => {
    // [300, -1] as uint8 gave [44, 255]; [NaN, Infinity] as int32 gave INT_MIN.
    expect(() => torch.tensor([300, -1], { dtype: "uint8" })).toThrow(/tensor\(\): 300 at flat index 0 does not fit in uint8 \(0 to 255\)/);
    expect(() => torch.tensor([1, -1], { dtype: "uint8" })).toThrow(/-1 at flat index 1 does not fit in uint8/);
    expect(() => torch.tensor([Number.NaN, Infinity], { dtype: "int32" })).toThrow(/NaN at flat index 0 does not fit in int32/);
    expect(() => torch.tensor([2 ** 31], { dtype: "int32" })).toThrow(/2147483648 at flat index 0 does not fit in int32/);
    expect(() => torch.tensor(new Float32Array([1, 1e10]), { dtype: "int16" })).toThrow(/10000000000 at flat index 1 does not fit in int16/);
    expect(() => torch.tensor(new Int32Array([1, 256]), { dtype: "uint8" })).toThrow(/256 at flat index 1 does not fit in uint8/);
    expect(() => torch.tensor([2 ** 63], { dtype: "int64" })).toThrow(/does not fit in int64/);
    // In range: kept (fractions truncate toward zero, as PyTorch's conversion does).
    expect(torch.tensor([255, 0, 2.7], { dtype: "uint8" }).tolist()).toEqual([255, 0, 2]);
    expect(torch.tensor([-(2 ** 31), 2 ** 31 - 1], { dtype: "int32" }).tolist()).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    expect(
      torch
        .tensor(new Float64Array([Number.NaN, Infinity]), { dtype: "float32" })
        .isnan()
        .tolist(),
    ).toEqual([1, 0]);
    expect(torch.tensor([2, 0], { dtype: "bool" }).tolist()).toEqual([1, 0]);
  });
  it("ragged nested arrays are an error", () => {
    // [[[1, 2]], [3, 4]] has 4 values, as its first path's shape [2, 1, 2] wants: it was accepted.
    expect(() => torch.tensor([[[1, 2]], [3, 4]] as unknown as number[][][])).toThrow(/ragged nested array: \[1\] has 2 elements, \[0\] has 1/);
    expect(() => torch.tensor([[1, 2], [3]])).toThrow(/ragged nested array: \[1\] has 1 elements, \[0\] has 2/);
    expect(() => torch.tensor([[1], 2] as unknown as number[][])).toThrow(/ragged/);
    expect(
      torch.tensor([
        [1, 2],
        [3, 4],
      ]).shape,
    ).toEqual([2, 2]);
    expect(torch.tensor([]).shape).toEqual([0]);
    expect(torch.tensor([[], []]).shape).toEqual([2, 0]);
  });
  it("a view of a SharedArrayBuffer becomes a tensor (it said 'Invalid argument')", () => {
    const shared = new Float32Array(new SharedArrayBuffer(16));
    shared.set([1, 2, 3, 4]);
    expect(torch.tensor(shared.subarray(1), { shape: [3] }).tolist()).toEqual([2, 3, 4]);
  });
  it("setNumThreads takes an integer from 1 to 1024 only", () => {
    const before = torch.getNumThreads();
    expect(() => torch.setNumThreads(2.5)).toThrow(/setNumThreads: need at least 1 thread, an integer up to 1024, got 2.5/);
    expect(() => torch.setNumThreads(2 ** 32 + 1)).toThrow(/got 4294967297/);
    expect(() => torch.setNumThreads(Number.NaN)).toThrow(/got NaN/);
    expect(torch.getNumThreads()).toBe(before);
  });
  it("size(dim) with a dim out of range is an index error; negative dims count from the end", () => {
    const x = torch.ones([2, 3]);
    expect(() => x.size(5)).toThrow(/size\(\): dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)/);
    expect(() => x.size(-3)).toThrow(/but got -3/);
    expect(() => x.size(0.5)).toThrow(/but got 0.5/);
    expect([x.size(0), x.size(-1), x.size()]).toEqual([2, 3, [2, 3]]);
  });
  it("tensorsOp refuses an op that returns one Tensor", () => {
    expect(() => torch.tensorsOp("aten::add.Tensor")(torch.ones([1]), torch.ones([1]))).toThrow(
      /aten::add.Tensor returns \(Tensor\), not Tensors: use tensorOp\("aten::add.Tensor"\)/,
    );
    expect(torch.tensorsOp("aten::max.dim")(torch.ones([2, 2]), 0)).toHaveLength(2);
    expect(torch.tensorsOp("aten::chunk")(torch.ones([4]), 2)).toHaveLength(2);
  });
  it("item() of an int64 beyond 2^53 is an error, not a rounded number", () => {
    const big = torch.tensor(new BigInt64Array([2n ** 53n + 1n]));
    expect(() => big.item()).toThrow(/item\(\): 9007199254740993 is beyond 2\^53.*data\(\)\[0\]/);
    expect(big.data()[0]).toBe(2n ** 53n + 1n);
    expect(torch.tensor(new BigInt64Array([-(2n ** 53n)])).item()).toBe(-(2 ** 53));
    expect(torch.tensor(new BigInt64Array([123n])).item()).toBe(123);
  });
  it("a number where a Tensor is expected says so (it said 'belongs to another thread')", () => {
    const a = torch.ones([2, 2]);
    expect(() => a.matmul(5 as unknown as torch.Tensor)).toThrow(/aten::matmul: argument 'other': expected a Tensor, got the number 5$/);
    expect(() => a.add(torch.ones([2]), "x" as unknown as number)).toThrow(/argument 'alpha' must be a number/);
    expect(() => torch.cat([a, 7 as unknown as torch.Tensor])).toThrow(/argument 'tensors': expected a Tensor, got the number 7/);
    expect(() => tensorOp("aten::mm")(a, undefined as unknown as torch.Tensor)).toThrow(/argument 'mat2' is required/);
    expect(() => tensorOp("aten::neg")({} as unknown as torch.Tensor)).toThrow(/aten::neg: argument 'self': expected a Tensor, got an object/);
  });
});

// Scalar overloads of add, sub, mul and div (and their in-place forms) call the Tensor overload with the
// scalar made in self's dtype (native/schema.cc, scalar_as_tensor): the same values as ATen's own path,
// which makes the scalar in int64 or double and casts it, checked here against both an exact float32
// computation and the Tensor overload on a 0-d tensor of self's dtype.
describe("scalar ops on a scalar made in self's dtype", () => {
  const scalars = [3, -7, 0.1, 1 / 3, -2.5e-3, 1e-40, 3e38, 2 ** 40 + 1];
  const xs = [1.5, -0.1, 2 ** -20, 7e37, -3.25, 0.3, 1e-39, 12345.678];
  it("add, sub, mul and div give float32 results bit for bit as rounding the exact result would", () => {
    const x = torch.tensor(xs, { dtype: "float32" });
    const xf = Array.from(x.data() as Float32Array);
    for (const s of scalars) {
      const f = Math.fround(s);
      // A float32 operation is the exact result rounded once; a double holds each exact product, sum and
      // quotient of two float32s closely enough that rounding it to float32 gives the same number.
      expect(Array.from(x.add(s).data() as Float32Array)).toEqual(xf.map((a) => Math.fround(a + f)));
      expect(Array.from(x.sub(s).data() as Float32Array)).toEqual(xf.map((a) => Math.fround(a - f)));
      expect(Array.from(x.mul(s).data() as Float32Array)).toEqual(xf.map((a) => Math.fround(a * f)));
      expect(Array.from(x.div(s).data() as Float32Array)).toEqual(xf.map((a) => Math.fround(a / f)));
    }
  });
  it("agree with the Tensor overload on a 0-d tensor, for float32 and float64, out of place and in place, with alpha", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const x = torch.tensor(xs, { dtype });
      for (const s of scalars) {
        const t = torch.tensor([s], { dtype }).reshape([]);
        const same = (a: torch.Tensor, b: torch.Tensor) => expect(a.tolist()).toEqual(b.tolist());
        same(x.add(s), x.add(t));
        same(x.add(s, 0.7), x.add(t, 0.7));
        same(x.sub(s, 3), x.sub(t, 3));
        same(x.mul(s), x.mul(t));
        same(x.div(s), x.div(t));
        same(x.clone().add_(s, 0.7), x.add(t, 0.7));
        same(x.clone().sub_(s), x.sub(t));
        same(x.clone().mul_(s), x.mul(t));
        same(x.clone().div_(s), x.div(t));
      }
    }
  });
  it("keep PyTorch's type promotion where the scalar is not made in self's dtype", () => {
    const i = torch.tensor([1, 2, 3], { dtype: "int32" });
    expect(i.mul(2).dtype).toBe("int32");
    expect(i.mul(2.5).dtype).toBe("float32");
    expect(i.mul(2.5).tolist()).toEqual([2.5, 5, 7.5]);
    expect(i.div(2).tolist()).toEqual([0.5, 1, 1.5]);
    expect(torch.tensor([true, false]).add(1).dtype).toBe("int64");
    expect(() => i.clone().mul_(2.5)).toThrow(/result type Float can't be cast to the desired output type Int/);
    // float16 kernels read the scalar before its cast (in float32): that path is ATen's own.
    const h = torch.tensor([1, 3], { dtype: "float16" });
    expect(h.mul(0.1).dtype).toBe("float16");
    expect(h.mul(0.1).to("float32").tolist()).toEqual(h.to("float32").mul(0.1).to("float16").to("float32").tolist());
  });
  it("differentiate as the scalar overloads do, and in-place ops keep the caller's tensor and handle", () => {
    const w = torch.tensor([1, 2, 3], { requiresGrad: true });
    w.mul(3).add(1, 2).div(4).sub(5).sum().backward();
    expect(w.grad!.tolist()).toEqual([0.75, 0.75, 0.75]);
    expect(() => w.mul_(2)).toThrow(/leaf Variable that requires grad/);
    const a = torch.ones([2]);
    const live = torch.memory().liveTensors;
    expect(a.add_(1)).toBe(a);
    expect(a.mul_(torch.ones([2])).handle).toBe(a.handle);
    expect(torch.memory().liveTensors).toBe(live + 1); // the ones([2]) above, nothing for the results
    expect(() => a.add_(torch.ones([3]))).toThrow(/size of tensor a \(2\) must match/);
    a.dispose();
    expect(() => a.add_(1)).toThrow(/disposed/);
  });
});
