// Making tensors: from shapes, ranges, random draws, JS arrays and TypedArrays.
import { native } from "./native.js";
import { Tensor, tensorOp, type NestedArray } from "./tensor.js";
import { type DType, dtypeCode, dtypeOfTypedArray, type TypedArray } from "./dtype.js";
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

function shapeOf(a: NestedArray): number[] {
  const s: number[] = [];
  let x: NestedArray = a;
  while (Array.isArray(x)) {
    s.push(x.length);
    x = x[0] as NestedArray;
  }
  return s;
}

/** A tensor from a TypedArray (with a shape) or from nested JS arrays / a number (float32 unless told). */
export function tensor(data: NestedArray | TypedArray | boolean[], o: TensorOptions & { shape?: number[] } = {}): Tensor {
  let t: Tensor;
  if (ArrayBuffer.isView(data)) {
    const dt = dtypeOfTypedArray(data);
    t = new Tensor(native.fromBuffer(data, o.shape ?? [data.length], dtypeCode(dt)));
    if (o.dtype && o.dtype !== dt) {
      const c = t.to(o.dtype);
      t.dispose();
      t = c;
    }
  } else {
    const shape = o.shape ?? shapeOf(data as NestedArray);
    const flat = Array.isArray(data) ? (data as unknown[]).flat(Infinity) : [data];
    // Number() would make "abc" and {} NaN silently: only numbers and booleans are values.
    const bad = flat.findIndex((v) => typeof v !== "number" && typeof v !== "boolean");
    if (bad >= 0) {
      const v = flat[bad];
      throw new TypeError(
        `tensor(): expected numbers or booleans, got ${typeof v === "string" ? `the string '${v}'` : v === null ? "null" : typeof v}` +
          `${Array.isArray(data) ? ` at flat index ${bad}` : ""}; convert the data first (e.g. Number(x))`,
      );
    }
    const expected = shape.reduce((a, b) => a * b, 1);
    if (flat.length !== expected) throw new RangeError(`tensor(): ragged nested array: ${flat.length} values for shape [${shape}]`);
    const dt = o.dtype ?? (typeof flat[0] === "boolean" ? "bool" : "float32");
    const f64 = Float64Array.from(flat as number[], Number);
    t = new Tensor(native.fromBuffer(f64, shape, dtypeCode("float64")));
    if (dt !== "float64") {
      const c = t.to(dt);
      t.dispose();
      t = c;
    }
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
