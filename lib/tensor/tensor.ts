// The Tensor class: a typed handle to a LibTorch tensor, with PyTorch's method names.
//
// Every op reaches LibTorch through one generic native entry point by its ATen schema name, so adding an
// op is one line here (`const x = tensorOp("aten::x")` and a method that calls it).
import { native, type Handle, type NativeResult } from "./native.js";
import { type DType, DTYPES, dtypeCode, dtypeFromCode, isDType, typedArrayFor, type TypedArray } from "./dtype.js";
import { type Device, parseDevice } from "./device.js";
import type { OpArgs } from "./op-types.generated.js";

// ---------------------------------------------------------------------------------------------------
// Memory: scopes free what was made inside them; a finalizer is the last safety net. Handles carry a
// generation, so a finalizer that runs after dispose() (or twice) frees nothing else.
//
// Registering with a FinalizationRegistry costs about as much as a small op, so it is deferred: a tensor
// made in a scope is registered only if it outlives every scope, and an unscoped one only if it is still
// alive at the next flush (a microtask, or every 1024 tensors). Tensors disposed before then never pay.
const finalizer = new FinalizationRegistry<Handle>((h) => native.free(h));
const scopes: Tensor[][] = [];
let unregistered: Tensor[] = [];

function flushFinalizers(): void {
  const ts = unregistered;
  unregistered = [];
  for (const t of ts) if (!t.isDisposed) finalizer.register(t, t.handle);
}

function guardWithFinalizer(t: Tensor): void {
  unregistered.push(t);
  if (unregistered.length === 1) queueMicrotask(flushFinalizers);
  else if (unregistered.length >= 1024) flushFinalizers();
}


export class Tensor {
  /** The native handle (an integer). Internal: use the methods. */
  readonly handle: Handle;
  private _shape: number[] | undefined;
  private _dtype: DType | undefined;
  private _kept = false;
  private _disposed = false;

  constructor(handle: Handle) {
    this.handle = handle;
    if (scopes.length) scopes[scopes.length - 1]!.push(this);
    else guardWithFinalizer(this);
  }

  // ---- identity and metadata ----
  get shape(): number[] {
    return (this._shape ??= native.shape(this.handle));
  }
  get dtype(): DType {
    return (this._dtype ??= dtypeFromCode(native.dtype(this.handle)));
  }
  get device(): Device {
    return native.device(this.handle) as Device;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  size(dim?: number): number | number[] {
    if (dim === undefined) return this.shape;
    return this.shape[dim < 0 ? dim + this.ndim : dim]!;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }
  toString(): string {
    return this._disposed ? "Tensor(disposed)" : `Tensor(shape=[${this.shape}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ---- memory ----
  /** Frees the native tensor now. Safe to call twice; using the tensor afterwards is an error. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    native.free(this.handle);
  }
  /** Keeps this tensor alive past the scope it was made in (until dispose() or the finalizer). */
  keep(): this {
    if (!this._kept && scopes.length) guardWithFinalizer(this);
    this._kept = true;
    return this;
  }
  /** @internal */ get kept(): boolean {
    return this._kept;
  }

  // ---- reading values ----
  /** The single value of a one-element tensor. */
  item(): number {
    return Number(native.item(this.handle));
  }
  /** The elements as a TypedArray of this dtype (a copy; int64 as BigInt64Array). */
  data(): TypedArray {
    return typedArrayFor(this.dtype, native.toBuffer(this.handle));
  }
  /** The elements as a flat array of JS numbers. */
  toFlatArray(): number[] {
    const d = this.data();
    return d instanceof BigInt64Array ? Array.from(d, Number) : Array.from(d as ArrayLike<number>);
  }
  /** The elements as nested arrays, like `tensor.tolist()`. */
  tolist(): NestedArray {
    const flat = this.toFlatArray();
    const shape = this.shape;
    if (shape.length === 0) return flat[0]!;
    let i = 0;
    const build = (d: number): NestedArray =>
      d === shape.length - 1 ? flat.slice(i, (i += shape[d]!)) : Array.from({ length: shape[d]! }, () => build(d + 1));
    return build(0);
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  set requiresGrad(on: boolean) {
    O.requires_grad_(this, on);
  }
  requiresGrad_(on = true): this {
    O.requires_grad_(this, on);
    return this;
  }
  /** The accumulated gradient, or null. A new handle each call: dispose it (or use a scope). */
  get grad(): Tensor | null {
    const h = native.grad(this.handle);
    return h === null ? null : new Tensor(h);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g === null ? null : g.handle);
  }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward([this.handle], gradient ? [gradient.handle] : null, opts.retainGraph, opts.createGraph ?? false);
  }
  detach(): Tensor { return O.detach(this); }
  clone(): Tensor { return O.clone(this); }

  // ---- devices and dtypes ----
  to(target: DType | Device): Tensor {
    if (typeof target !== "string") throw new TypeError(`to(): expected a dtype or a device name, got ${typeof target}`);
    if (target === "cpu" || target.startsWith("cuda")) return O.to_device(this, null, null, parseDevice(target));
    if (!isDType(target)) {
      throw new TypeError(`to(): '${target}' is neither a dtype (${DTYPES.join(", ")}) nor a device ('cpu', 'cuda', 'cuda:N')`);
    }
    return O.to_dtype(this, dtypeCode(target));
  }
  cpu(): Tensor { return this.to("cpu"); }
  cuda(index = 0): Tensor { return this.to(`cuda:${index}`); }
  float(): Tensor { return this.to("float32"); }
  double(): Tensor { return this.to("float64"); }
  long(): Tensor { return this.to("int64"); }

  // ---- element-wise math ----
  add(o: Tensor | number, alpha?: number): Tensor { return o instanceof Tensor ? O.add(this, o, alpha) : O.add_s(this, o, alpha); }
  sub(o: Tensor | number, alpha?: number): Tensor { return o instanceof Tensor ? O.sub(this, o, alpha) : O.sub_s(this, o, alpha); }
  mul(o: Tensor | number): Tensor { return o instanceof Tensor ? O.mul(this, o) : O.mul_s(this, o); }
  div(o: Tensor | number): Tensor { return o instanceof Tensor ? O.div(this, o) : O.div_s(this, o); }
  pow(e: Tensor | number): Tensor { return e instanceof Tensor ? O.pow(this, e) : O.pow_s(this, e); }
  rsub(o: number): Tensor { return O.rsub_s(this, o); }
  remainder(o: number): Tensor { return O.remainder_s(this, o); }
  maximum(o: Tensor): Tensor { return O.maximum(this, o); }
  minimum(o: Tensor): Tensor { return O.minimum(this, o); }
  neg(): Tensor { return O.neg(this); }
  exp(): Tensor { return O.exp(this); }
  expm1(): Tensor { return O.expm1(this); }
  log(): Tensor { return O.log(this); }
  log1p(): Tensor { return O.log1p(this); }
  log2(): Tensor { return O.log2(this); }
  sqrt(): Tensor { return O.sqrt(this); }
  rsqrt(): Tensor { return O.rsqrt(this); }
  square(): Tensor { return O.square(this); }
  reciprocal(): Tensor { return O.reciprocal(this); }
  abs(): Tensor { return O.abs(this); }
  sign(): Tensor { return O.sign(this); }
  floor(): Tensor { return O.floor(this); }
  ceil(): Tensor { return O.ceil(this); }
  round(): Tensor { return O.round(this); }
  sin(): Tensor { return O.sin(this); }
  cos(): Tensor { return O.cos(this); }
  sigmoid(): Tensor { return O.sigmoid(this); }
  logsigmoid(): Tensor { return O.log_sigmoid(this); }
  softplus(beta = 1, threshold = 20): Tensor { return O.softplus(this, beta, threshold); }
  tanh(): Tensor { return O.tanh(this); }
  relu(): Tensor { return O.relu(this); }
  /** (1 - weight) * this + weight * end, in one kernel. */
  lerp(end: Tensor, weight: Tensor | number): Tensor { return weight instanceof Tensor ? O.lerp(this, end, weight) : O.lerp_s(this, end, weight); }
  elu(alpha = 1): Tensor { return O.elu(this, alpha); }
  clamp(min?: number | null, max?: number | null): Tensor { return O.clamp(this, min ?? null, max ?? null); }
  where(cond: Tensor, other: Tensor | number): Tensor { return O.where(cond, this, other instanceof Tensor ? other : O.scalar_tensor(other, dtypeCode(this.dtype))); }
  isnan(): Tensor { return O.isnan(this); }
  isfinite(): Tensor { return O.isfinite(this); }

  // ---- comparisons (bool tensors) ----
  eq(o: Tensor | number): Tensor { return o instanceof Tensor ? O.eq(this, o) : O.eq_s(this, o); }
  ne(o: Tensor | number): Tensor { return o instanceof Tensor ? O.ne(this, o) : O.ne_s(this, o); }
  lt(o: Tensor | number): Tensor { return o instanceof Tensor ? O.lt(this, o) : O.lt_s(this, o); }
  le(o: Tensor | number): Tensor { return o instanceof Tensor ? O.le(this, o) : O.le_s(this, o); }
  gt(o: Tensor | number): Tensor { return o instanceof Tensor ? O.gt(this, o) : O.gt_s(this, o); }
  ge(o: Tensor | number): Tensor { return o instanceof Tensor ? O.ge(this, o) : O.ge_s(this, o); }
  logicalAnd(o: Tensor): Tensor { return O.logical_and(this, o); }
  logicalNot(): Tensor { return O.logical_not(this); }
  allclose(o: Tensor, rtol = 1e-5, atol = 1e-8): boolean { return O.allclose(this, o, rtol, atol, false); }

  // ---- in place (return this) ----
  add_(o: Tensor | number, alpha?: number): this { o instanceof Tensor ? O.add_(this, o, alpha) : O.add_s_(this, o, alpha); return this; }
  sub_(o: Tensor | number, alpha?: number): this { o instanceof Tensor ? O.sub_(this, o, alpha) : O.sub_s_(this, o, alpha); return this; }
  mul_(o: Tensor | number): this { o instanceof Tensor ? O.mul_(this, o) : O.mul_s_(this, o); return this; }
  div_(o: Tensor | number): this { o instanceof Tensor ? O.div_(this, o) : O.div_s_(this, o); return this; }
  addcmul_(a: Tensor, b: Tensor, value = 1): this { O.addcmul_(this, a, b, value); return this; }
  addcdiv_(a: Tensor, b: Tensor, value = 1): this { O.addcdiv_(this, a, b, value); return this; }
  lerp_(end: Tensor, weight: number): this { O.lerp_(this, end, weight); return this; }
  relu_(): this { O.relu_(this); return this; }
  sigmoid_(): this { O.sigmoid_(this); return this; }
  clamp_(min?: number | null, max?: number | null): this { O.clamp_(this, min ?? null, max ?? null); return this; }
  copy_(src: Tensor): this { O.copy_(this, src); return this; }
  zero_(): this { O.zero_(this); return this; }
  fill_(v: number): this { O.fill_(this, v); return this; }
  normal_(mean = 0, std = 1): this { O.normal_(this, mean, std); return this; }
  uniform_(from = 0, to = 1): this { O.uniform_(this, from, to); return this; }

  // ---- reductions ----
  sum(dim?: number | number[], keepdim = false): Tensor { return dim === undefined ? O.sum(this) : O.sum_dim(this, dim, keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return dim === undefined ? O.mean(this) : O.mean_dim(this, dim, keepdim); }
  prod(): Tensor { return O.prod(this); }
  logsumexp(dim: number | number[], keepdim = false): Tensor { return O.logsumexp(this, dim, keepdim); }
  /** Without dim: the largest element. With dim: [values, indices]. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): [Tensor, Tensor];
  max(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] { return dim === undefined ? O.max(this) : (O.max_dim(this, dim, keepdim) as [Tensor, Tensor]); }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): [Tensor, Tensor];
  min(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] { return dim === undefined ? O.min(this) : (O.min_dim(this, dim, keepdim) as [Tensor, Tensor]); }
  amax(dim: number | number[], keepdim = false): Tensor { return O.amax(this, dim, keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return O.argmax(this, dim ?? null, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return O.argmin(this, dim ?? null, keepdim); }
  /** Variance; unbiased (correction 1) by default, as PyTorch. */
  var(dim?: number | number[] | null, opts: { correction?: number; keepdim?: boolean } = {}): Tensor { return O.var(this, dim ?? null, opts.correction ?? 1, opts.keepdim ?? false); }
  std(dim?: number | number[] | null, opts: { correction?: number; keepdim?: boolean } = {}): Tensor { return O.std(this, dim ?? null, opts.correction ?? 1, opts.keepdim ?? false); }
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor { return O.vector_norm(this, p, dim ?? null, keepdim); }
  all(): Tensor { return O.all(this); }
  any(): Tensor { return O.any(this); }

  // ---- shapes ----
  view(...shape: number[] | [number[]]): Tensor { return O.view(this, flatShape(shape)); }
  reshape(...shape: number[] | [number[]]): Tensor { return O.reshape(this, flatShape(shape)); }
  permute(...dims: number[] | [number[]]): Tensor { return O.permute(this, flatShape(dims)); }
  transpose(d0: number, d1: number): Tensor { return O.transpose(this, d0, d1); }
  get T(): Tensor { return O.numpy_T(this); }
  t(): Tensor { return O.t(this); }
  flatten(start = 0, end = -1): Tensor { return O.flatten(this, start, end); }
  squeeze(dim?: number): Tensor { return dim === undefined ? O.squeeze(this) : O.squeeze_dim(this, dim); }
  unsqueeze(dim: number): Tensor { return O.unsqueeze(this, dim); }
  expand(...shape: number[] | [number[]]): Tensor { return O.expand(this, flatShape(shape)); }
  expandAs(o: Tensor): Tensor { return O.expand(this, o.shape); }
  repeat(...reps: number[] | [number[]]): Tensor { return O.repeat(this, flatShape(reps)); }
  chunk(chunks: number, dim = 0): Tensor[] { return O.chunk(this, chunks, dim) as Tensor[]; }
  split(sizes: number | number[], dim = 0): Tensor[] { return (typeof sizes === "number" ? O.split(this, sizes, dim) : O.split_sizes(this, sizes, dim)) as Tensor[]; }
  narrow(dim: number, start: number, length: number): Tensor { return O.narrow(this, dim, start, length); }
  /** Python's `x[..., start:end:step]` along one dim. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor { return O.slice(this, dim, start ?? null, end ?? null, step); }
  select(dim: number, index: number): Tensor { return O.select(this, dim, index); }
  indexSelect(dim: number, index: Tensor): Tensor { return O.index_select(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return O.gather(this, dim, index, false); }
  /** Advanced indexing `x[i0, i1, ...]` with tensors (null keeps a dim whole). */
  index(indices: (Tensor | null)[]): Tensor { return O.index(this, indices); }
  maskedFill(mask: Tensor, value: number): Tensor { return O.masked_fill(this, mask, value); }
  flip(dims: number[]): Tensor { return O.flip(this, dims); }
  roll(shifts: number | number[], dims: number | number[]): Tensor { return O.roll(this, shifts, dims); }
  contiguous(): Tensor { return O.contiguous(this); }
  isContiguous(): boolean { return O.is_contiguous(this); }
  triu(diagonal = 0): Tensor { return O.triu(this, diagonal); }
  tril(diagonal = 0): Tensor { return O.tril(this, diagonal); }
  diagonal(offset = 0, d1 = 0, d2 = 1): Tensor { return O.diagonal(this, offset, d1, d2); }
  diag(diagonal = 0): Tensor { return O.diag(this, diagonal); }

  // ---- linear algebra ----
  matmul(o: Tensor): Tensor { return O.matmul(this, o); }
  mm(o: Tensor): Tensor { return O.mm(this, o); }
  bmm(o: Tensor): Tensor { return O.bmm(this, o); }
}

export type NestedArray = number | NestedArray[];

function flatShape(s: number[] | [number[]]): number[] {
  return Array.isArray(s[0]) ? (s[0] as number[]) : (s as number[]);
}

// ---------------------------------------------------------------------------------------------------
// Op plumbing. Arguments: Tensors become handles, arrays of Tensors arrays of handles, anything else
// passes as is and the native side checks it against the schema.
type OpArg = Tensor | number | boolean | string | null | undefined | readonly number[] | readonly (Tensor | null)[];

function toNative(a: OpArg): unknown {
  if (a instanceof Tensor) return a.handle;
  if (Array.isArray(a) && a.length > 0 && typeof a[0] !== "number") {
    return a.map((t) => (t instanceof Tensor ? t.handle : t));
  }
  return a;
}

/** Wraps a native result; a handle equal to an argument's (in-place ops) gives back that argument. */
export function wrapResult(r: NativeResult, args?: readonly OpArg[]): unknown {
  if (typeof r === "number") {
    if (args) for (const a of args) if (a instanceof Tensor && a.handle === r) return a;
    return new Tensor(r);
  }
  if (Array.isArray(r)) return r.map((x) => wrapResult(x, args));
  return r;
}

const opIds = new Map<string, number>();
function opId(schema: string): number {
  let id = opIds.get(schema);
  if (id === undefined) opIds.set(schema, (id = native.op(schema)));
  return id;
}

/**
 * An op that returns one tensor, called by ATen schema name ("aten::add.Tensor"). Ops the code calls are
 * typed from their schemas (op-types.generated.ts): a wrong argument is a compile error. Other schema
 * names work too, checked at run time.
 */
export function tensorOp<S extends keyof OpArgs>(schema: S): (...args: OpArgs[S]) => Tensor;
export function tensorOp(schema: string): (...args: OpArg[]) => Tensor;
export function tensorOp(schema: string): (...args: OpArg[]) => Tensor {
  let id = -1;
  // Fixed parameters and a switch on the count avoid allocating a rest array on the hot path.
  return function (a0?: OpArg, a1?: OpArg, a2?: OpArg, a3?: OpArg, a4?: OpArg): Tensor {
    if (id < 0) id = checkedOpId(schema, "tensor");
    // Trailing undefined arguments take the schema's defaults natively; not passing them is cheaper.
    let n = arguments.length;
    while (n > 0 && arguments[n - 1] === undefined) n--;
    let r: NativeResult;
    switch (n) {
      case 1: r = native.call(id, toNative(a0)); break;
      case 2: r = native.call(id, toNative(a0), toNative(a1)); break;
      case 3: r = native.call(id, toNative(a0), toNative(a1), toNative(a2)); break;
      case 4: r = native.call(id, toNative(a0), toNative(a1), toNative(a2), toNative(a3)); break;
      case 5: r = native.call(id, toNative(a0), toNative(a1), toNative(a2), toNative(a3), toNative(a4)); break;
      default: r = native.call(id, ...Array.prototype.slice.call(arguments, 0, n).map(toNative));
    }
    if (typeof r === "number") return a0 instanceof Tensor && a0.handle === r ? a0 : new Tensor(r);
    return wrapResult(r, Array.from(arguments) as OpArg[]) as Tensor;
  };
}

/** An op that returns several tensors (a tuple or a list). */
export function tensorsOp<S extends keyof OpArgs>(schema: S): (...args: OpArgs[S]) => Tensor[];
export function tensorsOp(schema: string): (...args: OpArg[]) => Tensor[];
export function tensorsOp(schema: string): (...args: OpArg[]) => Tensor[] {
  let id = -1;
  return (...args: OpArg[]): Tensor[] => {
    if (id < 0) id = checkedOpId(schema, "tensors");
    return wrapResult(native.call(id, ...args.map(toNative)), args) as Tensor[];
  };
}

/** An op that returns a plain value (a number, a boolean, a list of numbers), e.g. "aten::numel". */
export function valueOp<T extends number | boolean | number[] = number, S extends keyof OpArgs = keyof OpArgs>(schema: S): (...args: OpArgs[S]) => T;
export function valueOp<T extends number | boolean | number[] = number>(schema: string): (...args: OpArg[]) => T;
export function valueOp<T extends number | boolean | number[] = number>(schema: string): (...args: OpArg[]) => T {
  let id = -1;
  return (...args: OpArg[]): T => {
    if (id < 0) id = checkedOpId(schema, "value");
    return native.call(id, ...args.map(toNative)) as T;
  };
}

/** The same op run on the thread pool, resolving to its result (for heavy single ops in services). */
export function tensorOpAsync(schema: string): (...args: OpArg[]) => Promise<Tensor> {
  return async (...args: OpArg[]) => wrapResult(await native.callAsync(checkedOpId(schema, "tensor"), ...args.map(toNative))) as Tensor;
}

// A tensor op wraps its results as Tensors: a number returned by an op that gives an int would otherwise be
// taken for a tensor handle (and disposing it would free some other tensor).
const TENSOR_RETURN = /^Tensor(\([a-z]!?\))?\??$/;
function checkedOpId(schema: string, want: "tensor" | "tensors" | "value"): number {
  const id = opId(schema);
  const { returns } = native.opSchema(id);
  const tensors = returns.every((r) => TENSOR_RETURN.test(r)) || (returns.length === 1 && /^Tensor(\([a-z]!?\))?\[\]$/.test(returns[0]!));
  const ok = want === "tensor" ? returns.length === 1 && TENSOR_RETURN.test(returns[0]!)
    : want === "tensors" ? returns.length > 0 && tensors
    : !returns.some((r) => r.startsWith("Tensor"));
  if (!ok) {
    const use = returns.length === 0 ? "an op that returns nothing"
      : !returns.some((r) => r.startsWith("Tensor")) ? `valueOp("${schema}")` : returns.length === 1 && TENSOR_RETURN.test(returns[0]!) ? `tensorOp("${schema}")` : `tensorsOp("${schema}")`;
    throw new TypeError(`${schema} returns (${returns.join(", ")}), not ${want === "tensor" ? "one Tensor" : want === "tensors" ? "Tensors" : "a plain value"}: use ${use}`);
  }
  return id;
}

// The op table: one line per op.
export const O = {
  id: opId,
  detach: tensorOp("aten::detach"),
  allclose: valueOp<boolean>("aten::allclose"), is_contiguous: valueOp<boolean>("aten::is_contiguous"),
  clone: tensorOp("aten::clone"),
  requires_grad_: tensorOp("aten::requires_grad_"),
  to_dtype: tensorOp("aten::to.dtype"),
  to_device: tensorOp("aten::to.dtype_layout"),
  scalar_tensor: tensorOp("aten::scalar_tensor"),
  add: tensorOp("aten::add.Tensor"), add_s: tensorOp("aten::add.Scalar"),
  sub: tensorOp("aten::sub.Tensor"), sub_s: tensorOp("aten::sub.Scalar"),
  rsub_s: tensorOp("aten::rsub.Scalar"), remainder_s: tensorOp("aten::remainder.Scalar"),
  mul: tensorOp("aten::mul.Tensor"), mul_s: tensorOp("aten::mul.Scalar"),
  div: tensorOp("aten::div.Tensor"), div_s: tensorOp("aten::div.Scalar"),
  pow: tensorOp("aten::pow.Tensor_Tensor"), pow_s: tensorOp("aten::pow.Tensor_Scalar"),
  maximum: tensorOp("aten::maximum"), minimum: tensorOp("aten::minimum"),
  add_: tensorOp("aten::add_.Tensor"), add_s_: tensorOp("aten::add_.Scalar"),
  sub_: tensorOp("aten::sub_.Tensor"), sub_s_: tensorOp("aten::sub_.Scalar"),
  mul_: tensorOp("aten::mul_.Tensor"), mul_s_: tensorOp("aten::mul_.Scalar"),
  div_: tensorOp("aten::div_.Tensor"), div_s_: tensorOp("aten::div_.Scalar"),
  addcmul_: tensorOp("aten::addcmul_"), addcdiv_: tensorOp("aten::addcdiv_"),
  lerp_: tensorOp("aten::lerp_.Scalar"), clamp_: tensorOp("aten::clamp_"),
  lerp: tensorOp("aten::lerp.Tensor"), lerp_s: tensorOp("aten::lerp.Scalar"),
  relu_: tensorOp("aten::relu_"), sigmoid_: tensorOp("aten::sigmoid_"),
  copy_: tensorOp("aten::copy_"), zero_: tensorOp("aten::zero_"), fill_: tensorOp("aten::fill_.Scalar"),
  normal_: tensorOp("aten::normal_"), uniform_: tensorOp("aten::uniform_"),
  neg: tensorOp("aten::neg"), exp: tensorOp("aten::exp"), expm1: tensorOp("aten::expm1"),
  log: tensorOp("aten::log"), log1p: tensorOp("aten::log1p"), log2: tensorOp("aten::log2"),
  sqrt: tensorOp("aten::sqrt"), rsqrt: tensorOp("aten::rsqrt"), square: tensorOp("aten::square"),
  reciprocal: tensorOp("aten::reciprocal"), abs: tensorOp("aten::abs"), sign: tensorOp("aten::sign"),
  floor: tensorOp("aten::floor"), ceil: tensorOp("aten::ceil"), round: tensorOp("aten::round"),
  sin: tensorOp("aten::sin"), cos: tensorOp("aten::cos"),
  sigmoid: tensorOp("aten::sigmoid"), log_sigmoid: tensorOp("aten::log_sigmoid"),
  softplus: tensorOp("aten::softplus"), tanh: tensorOp("aten::tanh"), relu: tensorOp("aten::relu"),
  elu: tensorOp("aten::elu"), clamp: tensorOp("aten::clamp"), where: tensorOp("aten::where.self"),
  isnan: tensorOp("aten::isnan"), isfinite: tensorOp("aten::isfinite"),
  eq: tensorOp("aten::eq.Tensor"), eq_s: tensorOp("aten::eq.Scalar"),
  ne: tensorOp("aten::ne.Tensor"), ne_s: tensorOp("aten::ne.Scalar"),
  lt: tensorOp("aten::lt.Tensor"), lt_s: tensorOp("aten::lt.Scalar"),
  le: tensorOp("aten::le.Tensor"), le_s: tensorOp("aten::le.Scalar"),
  gt: tensorOp("aten::gt.Tensor"), gt_s: tensorOp("aten::gt.Scalar"),
  ge: tensorOp("aten::ge.Tensor"), ge_s: tensorOp("aten::ge.Scalar"),
  logical_and: tensorOp("aten::logical_and"), logical_not: tensorOp("aten::logical_not"),
  sum: tensorOp("aten::sum"), sum_dim: tensorOp("aten::sum.dim_IntList"),
  mean: tensorOp("aten::mean"), mean_dim: tensorOp("aten::mean.dim"), prod: tensorOp("aten::prod"),
  logsumexp: tensorOp("aten::logsumexp"),
  max: tensorOp("aten::max"), max_dim: tensorsOp("aten::max.dim"),
  min: tensorOp("aten::min"), min_dim: tensorsOp("aten::min.dim"), amax: tensorOp("aten::amax"),
  argmax: tensorOp("aten::argmax"), argmin: tensorOp("aten::argmin"),
  var: tensorOp("aten::var.correction"), std: tensorOp("aten::std.correction"),
  vector_norm: tensorOp("aten::linalg_vector_norm"), all: tensorOp("aten::all"), any: tensorOp("aten::any"),
  view: tensorOp("aten::view"), reshape: tensorOp("aten::reshape"), permute: tensorOp("aten::permute"),
  transpose: tensorOp("aten::transpose.int"), numpy_T: tensorOp("aten::numpy_T"), t: tensorOp("aten::t"),
  flatten: tensorOp("aten::flatten.using_ints"), squeeze: tensorOp("aten::squeeze"),
  squeeze_dim: tensorOp("aten::squeeze.dim"), unsqueeze: tensorOp("aten::unsqueeze"),
  expand: tensorOp("aten::expand"), repeat: tensorOp("aten::repeat"),
  chunk: tensorsOp("aten::chunk"), split: tensorsOp("aten::split.Tensor"), split_sizes: tensorsOp("aten::split_with_sizes"),
  narrow: tensorOp("aten::narrow"), slice: tensorOp("aten::slice.Tensor"), select: tensorOp("aten::select.int"),
  index_select: tensorOp("aten::index_select"), gather: tensorOp("aten::gather"), index: tensorOp("aten::index.Tensor"),
  masked_fill: tensorOp("aten::masked_fill.Scalar"), flip: tensorOp("aten::flip"), roll: tensorOp("aten::roll"),
  contiguous: tensorOp("aten::contiguous"), triu: tensorOp("aten::triu"), tril: tensorOp("aten::tril"),
  diagonal: tensorOp("aten::diagonal"), diag: tensorOp("aten::diag"),
  matmul: tensorOp("aten::matmul"), mm: tensorOp("aten::mm"), bmm: tensorOp("aten::bmm"),
};

// ---------------------------------------------------------------------------------------------------
// Scopes.

function collect(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 8 || v === null || typeof v !== "object") return;
  if (v instanceof Tensor) { out.add(v); return; }
  if (Array.isArray(v)) { for (const x of v) collect(x, out, depth + 1); return; }
  if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out, depth + 1);
}

function closeScope(made: Tensor[], result: unknown): void {
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  const parent = scopes.length ? scopes[scopes.length - 1] : undefined;
  for (const t of made) {
    if (t.kept) continue;
    if (!survivors.has(t)) t.dispose();
    else if (parent) parent.push(t);
    else guardWithFinalizer(t);
  }
}

/**
 * Runs fn and frees every tensor made inside it, except those it returns (in a Tensor, an array or a
 * plain object) and those kept with `keep()`. Scopes nest: what a scope returns belongs to the scope
 * around it. fn must be synchronous: a scope closes when fn returns, which for an async function is at
 * its first await, so a returned Promise is an error (as in tfjs). Inside async code, tidy each
 * synchronous stretch, or dispose() by hand.
 */
export function tidy<T>(fn: () => T): T {
  const made: Tensor[] = [];
  scopes.push(made);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    closeScope(made, undefined);
    throw e;
  }
  scopes.pop();
  if (isPromiseLike(result)) {
    // The async body goes on after its await and still uses what it made: free nothing under it.
    closeScope(made, made);
    // Its own later failure would be a second, unhandled error on top of this one.
    result.then(undefined, () => undefined);
    throw new TypeError("tidy(): the function returned a Promise. A scope closes when the function returns (for an " +
      "async function: at its first await), so it cannot hold async work. Call tidy() around the synchronous parts " +
      "inside the async function, or dispose() what it makes.");
  }
  closeScope(made, result);
  return result;
}

const isPromiseLike = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";

/** Disposes every tensor in a value (a Tensor, arrays and plain objects of them). */
export function dispose(v: unknown): void {
  const s = new Set<Tensor>();
  collect(v, s);
  for (const t of s) t.dispose();
}

/** Live native tensors and their bytes in this thread: what memory tests and benchmarks watch. */
export function memory(): { liveTensors: number; bytes: number } {
  const { liveTensors, bytes } = native.stats();
  return { liveTensors, bytes };
}
