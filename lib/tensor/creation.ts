// Making tensors: from shapes, ranges, random draws, JS arrays and TypedArrays.
import { native } from "./native.js";
import { Tensor, tensorOp, tidy, type NestedArray } from "./tensor.js";
import { type DType, dtypeCode, dtypeOfTypedArray, isFloating, type TypedArray } from "./dtype.js";
import { type Device, parseDevice } from "./device.js";

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

// Factory schemas end with (dtype?, layout?, device?, pin_memory?).
const opts = (o: TensorOptions = {}) =>
  [o.dtype === undefined ? null : dtypeCode(o.dtype), null, o.device === undefined ? null : parseDevice(o.device), null] as const;
const finish = (t: Tensor, o: TensorOptions = {}) => (o.requiresGrad ? t.requiresGrad_(true) : t);

// (An op table reads best as rows: the formatter leaves it.)
// prettier-ignore
const F = {
  zeros: tensorOp("aten::zeros"), ones: tensorOp("aten::ones"), full: tensorOp("aten::full"), empty: tensorOp("aten::empty.memory_format"),
  eye: tensorOp("aten::eye.m"), arange: tensorOp("aten::arange.start_step"), linspace: tensorOp("aten::linspace"),
  // Random draws use the overloads with a generator argument: left null, the native layer passes this
  // thread's own generator (see manualSeed), where the plain overloads would use the process's one.
  rand: tensorOp("aten::rand.generator"), randn: tensorOp("aten::randn.generator"), randint: tensorOp("aten::randint.low_generator"),
  randperm: tensorOp("aten::randperm.generator"),
  zerosLike: tensorOp("aten::zeros_like"), onesLike: tensorOp("aten::ones_like"),
  randnLike: tensorOp("aten::randn_like.generator"), randLike: tensorOp("aten::rand_like.generator"), fullLike: tensorOp("aten::full_like"),
  bernoulli: tensorOp("aten::bernoulli.p"), multinomial: tensorOp("aten::multinomial"),
};

export const zeros = (shape: number[], o?: TensorOptions) => finish(F.zeros(shape, ...opts(o)), o);
export const ones = (shape: number[], o?: TensorOptions) => finish(F.ones(shape, ...opts(o)), o);
export const full = (shape: number[], value: number, o?: TensorOptions) => finish(F.full(shape, value, ...opts(o)), o);
export const empty = (shape: number[], o?: TensorOptions) => finish(F.empty(shape, ...opts(o)), o);
export const eye = (n: number, m = n, o?: TensorOptions) => finish(F.eye(n, m, ...opts(o)), o);
/** arange(end) or arange(start, end, step); int64 for integer arguments, as PyTorch. */
export function arange(start: number, end?: number, step = 1, o?: TensorOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  return finish(F.arange(start, end, step, ...opts(o)), o);
}
export const linspace = (start: number, end: number, steps: number, o?: TensorOptions) => finish(F.linspace(start, end, steps, ...opts(o)), o);
/** Uniform on [0, 1). */
export const rand = (shape: number[], o?: TensorOptions) => finish(F.rand(shape, null, ...opts(o)), o);
/** Standard normal. */
export const randn = (shape: number[], o?: TensorOptions) => finish(F.randn(shape, null, ...opts(o)), o);
/** Integers in [low, high). */
export const randint = (low: number, high: number, shape: number[], o?: TensorOptions) => finish(F.randint(low, high, shape, null, ...opts(o)), o);
export const randperm = (n: number, o?: TensorOptions) => F.randperm(n, null, ...opts(o));
export const zerosLike = (t: Tensor) => F.zerosLike(t);
export const onesLike = (t: Tensor) => F.onesLike(t);
export const fullLike = (t: Tensor, v: number) => F.fullLike(t, v);
export const randnLike = (t: Tensor) => F.randnLike(t, null);
export const randLike = (t: Tensor) => F.randLike(t, null);
export const bernoulli = (t: Tensor, p: number) => F.bernoulli(t, p, null);
export const multinomial = (probs: Tensor, numSamples: number, replacement = false) => F.multinomial(probs, numSamples, replacement, null);

// ---------------------------------------------------------------------------------------------------
// tensor(): nested arrays are walked once (shape, raggedness and element types checked on the way), and a
// conversion to an integer dtype refuses values it cannot hold, as PyTorch does, instead of wrapping them.

const path = (p: number[]) => p.map((i) => `[${i}]`).join("");
const kind = (v: unknown) => (Array.isArray(v) ? "an array" : "a value");

/** The shape (from the first element at each depth) and the values, row-major, of a nested array or a value. */
function flattenNested(data: unknown): { shape: number[]; values: Float64Array; bools: boolean } {
  const shape: number[] = [];
  for (let x: unknown = data; Array.isArray(x); x = x[0]) shape.push(x.length);
  const values = new Float64Array(shape.reduce((a, b) => a * b, 1));
  let n = 0;
  let bools = false;
  const at: number[] = [];
  const walk = (x: unknown, d: number): void => {
    if (d < shape.length) {
      if (!Array.isArray(x) || x.length !== shape[d]) {
        const first = path(at.map(() => 0));
        throw new RangeError(
          Array.isArray(x)
            ? `tensor(): ragged nested array: ${path(at)} has ${x.length} elements, ${first} has ${shape[d]}`
            : `tensor(): ragged nested array: ${path(at)} is ${kind(x)}, ${first} is an array`,
        );
      }
      for (let i = 0; i < x.length; i++) {
        at.push(i);
        walk(x[i], d + 1);
        at.pop();
      }
      return;
    }
    if (typeof x === "number") values[n++] = x;
    else if (typeof x === "boolean") {
      if (n === 0) bools = true; // the first value decides, as it did
      values[n++] = x ? 1 : 0;
    } else if (Array.isArray(x)) {
      throw new RangeError(`tensor(): ragged nested array: ${path(at)} is an array, ${path(at.map(() => 0))} is a value`);
    } else {
      // Number() would make "abc" and {} NaN silently: only numbers and booleans are values.
      throw new TypeError(
        `tensor(): expected numbers or booleans, got ${typeof x === "string" ? `the string '${x}'` : x === null ? "null" : typeof x}` +
          `${shape.length ? ` at flat index ${n}` : ""}; convert the data first (e.g. Number(x))`,
      );
    }
  };
  walk(data, 0);
  return { shape, values, bools };
}

// What each integer dtype holds: a value v fits when lo - 1 < v < hi + 1 (fractions truncate toward zero).
const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-(2 ** 31), 2 ** 31 - 1],
};
const fitsIn = (dt: DType) => {
  if (dt === "int64") return (v: number | bigint) => v >= -(2 ** 63) && v < 2 ** 63;
  const [lo, hi] = INT_RANGE[dt]!;
  return (v: number | bigint) => v > lo - 1 && v < hi + 1;
};
const rangeText = (dt: DType) => (dt === "int64" ? "-9223372036854775808 to 9223372036854775807" : INT_RANGE[dt]!.join(" to "));
const isInteger = (dt: DType) => dt === "int64" || INT_RANGE[dt] !== undefined;
/** Whether every value of dtype `from` is a value of `to` (then there is nothing to check). */
const within = (from: DType, to: DType) =>
  isInteger(from) && (to === "int64" || (from !== "int64" && INT_RANGE[from]![0] >= INT_RANGE[to]![0] && INT_RANGE[from]![1] <= INT_RANGE[to]![1]));

/** t converted to dt (t disposed); to an integer dtype only if every value fits (NaN and ±Infinity do not). */
function convert(t: Tensor, dt: DType, values: ArrayLike<number | bigint>): Tensor {
  if (isInteger(dt) && !within(t.dtype, dt) && t.numel > 0) {
    const bad = tidy(() => {
      const lo = dt === "int64" ? -(2 ** 63) : INT_RANGE[dt]![0] - 1;
      const hi = dt === "int64" ? 2 ** 63 : INT_RANGE[dt]![1] + 1;
      const outside = dt === "int64" ? t.lt(lo).logicalOr(t.ge(hi)) : t.le(lo).logicalOr(t.ge(hi));
      return (isFloating(t.dtype) ? outside.logicalOr(t.isnan()) : outside).any().item() as unknown as boolean;
    });
    if (bad) {
      t.dispose();
      const fits = fitsIn(dt);
      let i = 0;
      while (i < values.length && fits(values[i]!)) i++;
      throw new RangeError(
        `tensor(): ${String(values[i])} at flat index ${i} does not fit in ${dt} (${rangeText(dt)}); ` +
          `clamp or round the values first, or choose a dtype that holds them`,
      );
    }
  }
  const c = t.to(dt);
  t.dispose();
  return c;
}

/** A tensor from a TypedArray (with a shape) or from nested JS arrays / a number (float32 unless told). */
export function tensor(data: NestedArray | TypedArray | boolean[], o: TensorOptions & { shape?: number[] } = {}): Tensor {
  let t: Tensor;
  if (ArrayBuffer.isView(data)) {
    const dt = dtypeOfTypedArray(data);
    t = new Tensor(native.fromBuffer(data, o.shape ?? [data.length], dtypeCode(dt)));
    if (o.dtype && o.dtype !== dt) t = convert(t, o.dtype, data as ArrayLike<number | bigint>);
  } else {
    const { shape: found, values, bools } = flattenNested(data);
    const shape = o.shape ?? found;
    t = new Tensor(native.fromBuffer(values, shape, dtypeCode("float64")));
    const dt = o.dtype ?? (bools ? "bool" : "float32");
    if (dt !== "float64") t = convert(t, dt, values);
  }
  if (o.device && o.device !== "cpu") {
    const c = t.to(o.device);
    t.dispose();
    t = c;
  }
  return finish(t, o);
}

/** A scalar (0-d) tensor. */
export const scalar = (v: number, o: TensorOptions = {}) => tensor(v, { ...o, shape: [] });
