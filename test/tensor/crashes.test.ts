// Hostile calls that used to kill the process (a signal), each run in a child process: the child must
// end normally with a JS error that says what was wrong.
import { describe, expect, it } from "vitest";
import { runModule, TENSOR_INDEX } from "./child.js";

describe("no crash from hostile arguments", () => {
  it("a shape whose getter detaches the data's buffer is an error, not a read of freed memory", () => {
    // The getter runs while the shape is read; the length had been read before it. Before the fix: SIGSEGV.
    const r = runModule(
      "detach.mjs",
      `
      import * as torch from ${JSON.stringify(TENSOR_INDEX)};
      const d = new Float32Array(1 << 20), s = [1 << 20];
      Object.defineProperty(s, 0, { get() { structuredClone(d.buffer, { transfer: [d.buffer] }); return 1 << 20; } });
      try { torch.tensor(d, { shape: s }); console.log("no error"); } catch (e) { console.log(e.message); }`,
    );
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/detached/);
  });

  it("integer division that overflows (INT_MIN / -1) is refused before LibTorch, on every path", () => {
    // rounding_mode "trunc" traps in LibTorch (SIGFPE; Python dies the same way); "floor" and floor_divide
    // wrap to INT_MIN. remainder and fmod give 0, the right answer, and stay allowed.
    const r = runModule(
      "int-division.mjs",
      `
      import * as torch from ${JSON.stringify(TENSOR_INDEX)};
      const { tensorOp } = torch;
      const out = {};
      const attempt = (name, f) => { try { const t = f(); out[name] = t.tolist(); } catch (e) { out[name] = e.message; } };
      const min64 = () => torch.tensor(new BigInt64Array([-(2n ** 63n), 6n]));
      const min32 = () => torch.tensor(new Int32Array([-(2 ** 31), 6]));
      const m1 = (dtype) => torch.tensor([-1, -1], { dtype });
      attempt("Scalar_mode", () => tensorOp("aten::div.Scalar_mode")(min64(), -1, "trunc"));
      attempt("Tensor_mode32", () => tensorOp("aten::div.Tensor_mode")(min32(), m1("int32"), "trunc"));
      attempt("divide_floor", () => tensorOp("aten::divide.Tensor_mode")(min64(), m1("int64"), "floor"));
      attempt("inplace", () => tensorOp("aten::div_.Scalar_mode")(min32(), -1, "trunc"));
      attempt("broadcast", () => tensorOp("aten::div.Tensor_mode")(min32().expand([3, 2]), torch.tensor([-1], { dtype: "int32" }), "trunc"));
      attempt("floor_divide", () => tensorOp("aten::floor_divide")(min64(), m1("int64")));
      attempt("floor_divide_s", () => tensorOp("aten::floor_divide.Scalar")(min32(), -1));
      // Not overflowing: int32 INT_MIN promoted to int64 by the divisor; true division; -2 as divisor.
      attempt("promoted", () => tensorOp("aten::div.Tensor_mode")(min32(), m1("int64"), "trunc"));
      attempt("true_div", () => tensorOp("aten::div.Tensor")(min64(), m1("int64")));
      attempt("by_minus_two", () => tensorOp("aten::div.Scalar_mode")(min32(), -2, "trunc"));
      attempt("remainder", () => tensorOp("aten::remainder.Tensor")(min64(), m1("int64")));
      attempt("fmod", () => tensorOp("aten::fmod.Scalar")(min32(), -1));
      try { await torch.callAsync("aten::div.Scalar_mode", min64(), -1, "trunc"); out.async = "no error"; } catch (e) { out.async = e.message; }
      console.log(JSON.stringify(out));`,
    );
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const refused = /integer division overflows: .*-?\d+ \/ -1 .*does not fit in (int32|int64)/;
    for (const k of ["Scalar_mode", "Tensor_mode32", "divide_floor", "inplace", "broadcast", "floor_divide", "floor_divide_s", "async"])
      expect(out[k], k).toMatch(refused);
    expect(out.Scalar_mode).toMatch(/aten::div.Scalar_mode/);
    expect(out.promoted).toEqual([2 ** 31, -6]);
    expect(out.true_div).toEqual([2 ** 63, -6]);
    expect(out.by_minus_two).toEqual([2 ** 30, -3]);
    expect(out.remainder).toEqual([0, 0]);
    expect(out.fmod).toEqual([0, 0]);
  });
});
