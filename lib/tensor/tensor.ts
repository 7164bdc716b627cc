// The Tensor class: a typed handle to a LibTorch tensor, with PyTorch's method names, and the scopes
// (tidy, dispose) that free native tensors. The ops it calls are in ops.ts.
import { native, type Handle } from "./native.js";
import { O } from "./ops.js";
import { guardWithFinalizer, inScope } from "./scope.js";
import { type DType, DTYPES, dtypeCode, dtypeFromCode, isDType, typedArrayFor, type TypedArray } from "./dtype.js";
import { type Device, parseDevice } from "./device.js";
import { describeValue } from "./describe.js";

export class Tensor {
  /** The native handle (an integer). Internal: use the methods. */
  readonly handle: Handle;
  private _shape: number[] | undefined;
  private _dtype: DType | undefined;
  private _kept = false;
  private _disposed = false;

  constructor(handle: Handle) {
    this.handle = handle;
    if (!inScope(this)) guardWithFinalizer(this);
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
  /** The shape, or the size of one dim (negative dims count from the end, as PyTorch). */
  size(dim?: number): number | number[] {
    if (dim === undefined) return this.shape;
    const n = this.ndim;
    if (!Number.isInteger(dim) || dim < -n || dim >= n)
      throw new RangeError(
        n === 0
          ? `size(): dimension specified as ${dim} but the tensor has no dimensions`
          : `size(): dimension out of range (expected to be in range of [${-n}, ${n - 1}], but got ${dim})`,
      );
    return this.shape[dim < 0 ? dim + n : dim]!;
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
    if (!this._kept && inScope()) guardWithFinalizer(this);
    this._kept = true;
    return this;
  }
  /** @internal */ get kept(): boolean {
    return this._kept;
  }

  // ---- reading values ----
  /** The single value of a one-element tensor. An int64 beyond ±2^53 throws (no exact JS number): use data()[0]. */
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
  /** Sets the gradient (null clears it); it must have this tensor's shape, dtype and device. */
  set grad(g: Tensor | null) {
    if (g !== null && !(g instanceof Tensor)) throw new TypeError(`grad: expected a Tensor or null, got ${describeValue(g)}`);
    native.setGrad(this.handle, g === null ? null : g.handle);
  }
  /** Backpropagates from this tensor; gradient (this tensor's shape) defaults to ones for a scalar. */
  backward(gradient?: Tensor | null, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    if (gradient != null && !(gradient instanceof Tensor)) throw new TypeError(`backward(): the gradient must be a Tensor, got ${describeValue(gradient)}`);
    native.backward([this.handle], gradient ? [gradient.handle] : null, opts.retainGraph, opts.createGraph ?? false);
  }
  detach(): Tensor {
    return O.detach(this);
  }
  clone(): Tensor {
    return O.clone(this);
  }

  // ---- devices and dtypes ----
  to(target: DType | Device): Tensor {
    if (typeof target !== "string") throw new TypeError(`to(): expected a dtype or a device name, got ${typeof target}`);
    if (target === "cpu" || target.startsWith("cuda")) return O.to_device(this, null, null, parseDevice(target));
    if (!isDType(target)) {
      throw new TypeError(`to(): '${target}' is neither a dtype (${DTYPES.join(", ")}) nor a device ('cpu', 'cuda', 'cuda:N')`);
    }
    return O.to_dtype(this, dtypeCode(target));
  }
  cpu(): Tensor {
    return this.to("cpu");
  }
  cuda(index = 0): Tensor {
    return this.to(`cuda:${index}`);
  }
  float(): Tensor {
    return this.to("float32");
  }
  double(): Tensor {
    return this.to("float64");
  }
  long(): Tensor {
    return this.to("int64");
  }

  // ---- element-wise math ----
  add(o: Tensor | number, alpha?: number): Tensor {
    return o instanceof Tensor ? O.add(this, o, alpha) : O.add_s(this, o, alpha);
  }
  sub(o: Tensor | number, alpha?: number): Tensor {
    return o instanceof Tensor ? O.sub(this, o, alpha) : O.sub_s(this, o, alpha);
  }
  mul(o: Tensor | number): Tensor {
    return o instanceof Tensor ? O.mul(this, o) : O.mul_s(this, o);
  }
  div(o: Tensor | number): Tensor {
    return o instanceof Tensor ? O.div(this, o) : O.div_s(this, o);
  }
  pow(e: Tensor | number): Tensor {
    return e instanceof Tensor ? O.pow(this, e) : O.pow_s(this, e);
  }
  rsub(o: number): Tensor {
    return O.rsub_s(this, o);
  }
  remainder(o: number): Tensor {
    return O.remainder_s(this, o);
  }
  maximum(o: Tensor): Tensor {
    return O.maximum(this, o);
  }
  minimum(o: Tensor): Tensor {
    return O.minimum(this, o);
  }
  neg(): Tensor {
    return O.neg(this);
  }
  exp(): Tensor {
    return O.exp(this);
  }
  expm1(): Tensor {
    return O.expm1(this);
  }
  log(): Tensor {
    return O.log(this);
  }
  log1p(): Tensor {
    return O.log1p(this);
  }
  log2(): Tensor {
    return O.log2(this);
  }
  sqrt(): Tensor {
    return O.sqrt(this);
  }
  rsqrt(): Tensor {
    return O.rsqrt(this);
  }
  square(): Tensor {
    return O.square(this);
  }
  reciprocal(): Tensor {
    return O.reciprocal(this);
  }
  abs(): Tensor {
    return O.abs(this);
  }
  sign(): Tensor {
    return O.sign(this);
  }
  floor(): Tensor {
    return O.floor(this);
  }
  ceil(): Tensor {
    return O.ceil(this);
  }
  round(): Tensor {
    return O.round(this);
  }
  sin(): Tensor {
    return O.sin(this);
  }
  cos(): Tensor {
    return O.cos(this);
  }
  sigmoid(): Tensor {
    return O.sigmoid(this);
  }
  logsigmoid(): Tensor {
    return O.log_sigmoid(this);
  }
  softplus(beta = 1, threshold = 20): Tensor {
    return O.softplus(this, beta, threshold);
  }
  tanh(): Tensor {
    return O.tanh(this);
  }
  relu(): Tensor {
    return O.relu(this);
  }
  /** (1 - weight) * this + weight * end, in one kernel. */
  lerp(end: Tensor, weight: Tensor | number): Tensor {
    return weight instanceof Tensor ? O.lerp(this, end, weight) : O.lerp_s(this, end, weight);
  }
  elu(alpha = 1): Tensor {
    return O.elu(this, alpha);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return O.clamp(this, min ?? null, max ?? null);
  }
  where(cond: Tensor, other: Tensor | number): Tensor {
    return O.where(cond, this, other instanceof Tensor ? other : O.scalar_tensor(other, dtypeCode(this.dtype)));
  }
  isnan(): Tensor {
    return O.isnan(this);
  }
  isfinite(): Tensor {
    return O.isfinite(this);
  }

  // ---- comparisons (bool tensors) ----
  eq(o: Tensor | number): Tensor {
    return o instanceof Tensor ? O.eq(this, o) : O.eq_s(this, o);
  }
  ne(o: Tensor | number): Tensor {
    return o instanceof Tensor ? O.ne(this, o) : O.ne_s(this, o);
  }
  lt(o: Tensor | number): Tensor {
    return o instanceof Tensor ? O.lt(this, o) : O.lt_s(this, o);
  }
  le(o: Tensor | number): Tensor {
    return o instanceof Tensor ? O.le(this, o) : O.le_s(this, o);
  }
  gt(o: Tensor | number): Tensor {
    return o instanceof Tensor ? O.gt(this, o) : O.gt_s(this, o);
  }
  ge(o: Tensor | number): Tensor {
    return o instanceof Tensor ? O.ge(this, o) : O.ge_s(this, o);
  }
  logicalAnd(o: Tensor): Tensor {
    return O.logical_and(this, o);
  }
  logicalOr(o: Tensor): Tensor {
    return O.logical_or(this, o);
  }
  logicalNot(): Tensor {
    return O.logical_not(this);
  }
  allclose(o: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return O.allclose(this, o, rtol, atol, false);
  }

  // ---- in place (return this) ----
  add_(o: Tensor | number, alpha?: number): this {
    o instanceof Tensor ? O.add_(this, o, alpha) : O.add_s_(this, o, alpha);
    return this;
  }
  sub_(o: Tensor | number, alpha?: number): this {
    o instanceof Tensor ? O.sub_(this, o, alpha) : O.sub_s_(this, o, alpha);
    return this;
  }
  mul_(o: Tensor | number): this {
    o instanceof Tensor ? O.mul_(this, o) : O.mul_s_(this, o);
    return this;
  }
  div_(o: Tensor | number): this {
    o instanceof Tensor ? O.div_(this, o) : O.div_s_(this, o);
    return this;
  }
  addcmul_(a: Tensor, b: Tensor, value = 1): this {
    O.addcmul_(this, a, b, value);
    return this;
  }
  addcdiv_(a: Tensor, b: Tensor, value = 1): this {
    O.addcdiv_(this, a, b, value);
    return this;
  }
  lerp_(end: Tensor, weight: number): this {
    O.lerp_(this, end, weight);
    return this;
  }
  relu_(): this {
    O.relu_(this);
    return this;
  }
  sigmoid_(): this {
    O.sigmoid_(this);
    return this;
  }
  clamp_(min?: number | null, max?: number | null): this {
    O.clamp_(this, min ?? null, max ?? null);
    return this;
  }
  copy_(src: Tensor): this {
    O.copy_(this, src);
    return this;
  }
  zero_(): this {
    O.zero_(this);
    return this;
  }
  fill_(v: number): this {
    O.fill_(this, v);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    O.normal_(this, mean, std);
    return this;
  }
  uniform_(from = 0, to = 1): this {
    O.uniform_(this, from, to);
    return this;
  }

  // ---- reductions ----
  sum(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? O.sum(this) : O.sum_dim(this, dim, keepdim);
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? O.mean(this) : O.mean_dim(this, dim, keepdim);
  }
  prod(): Tensor {
    return O.prod(this);
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return O.logsumexp(this, dim, keepdim);
  }
  /** Without dim: the largest element. With dim: [values, indices]. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): [Tensor, Tensor];
  max(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    return dim === undefined ? O.max(this) : (O.max_dim(this, dim, keepdim) as [Tensor, Tensor]);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): [Tensor, Tensor];
  min(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    return dim === undefined ? O.min(this) : (O.min_dim(this, dim, keepdim) as [Tensor, Tensor]);
  }
  amax(dim: number | number[], keepdim = false): Tensor {
    return O.amax(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return O.argmax(this, dim ?? null, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return O.argmin(this, dim ?? null, keepdim);
  }
  /** Variance; unbiased (correction 1) by default, as PyTorch. */
  var(dim?: number | number[] | null, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return O.var(this, dim ?? null, opts.correction ?? 1, opts.keepdim ?? false);
  }
  std(dim?: number | number[] | null, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return O.std(this, dim ?? null, opts.correction ?? 1, opts.keepdim ?? false);
  }
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    return O.vector_norm(this, p, dim ?? null, keepdim);
  }
  all(): Tensor {
    return O.all(this);
  }
  any(): Tensor {
    return O.any(this);
  }

  // ---- shapes ----
  view(...shape: number[] | [number[]]): Tensor {
    return O.view(this, flatShape(shape));
  }
  reshape(...shape: number[] | [number[]]): Tensor {
    return O.reshape(this, flatShape(shape));
  }
  permute(...dims: number[] | [number[]]): Tensor {
    return O.permute(this, flatShape(dims));
  }
  transpose(d0: number, d1: number): Tensor {
    return O.transpose(this, d0, d1);
  }
  get T(): Tensor {
    return O.numpy_T(this);
  }
  t(): Tensor {
    return O.t(this);
  }
  flatten(start = 0, end = -1): Tensor {
    return O.flatten(this, start, end);
  }
  squeeze(dim?: number): Tensor {
    return dim === undefined ? O.squeeze(this) : O.squeeze_dim(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return O.unsqueeze(this, dim);
  }
  expand(...shape: number[] | [number[]]): Tensor {
    return O.expand(this, flatShape(shape));
  }
  expandAs(o: Tensor): Tensor {
    return O.expand(this, o.shape);
  }
  repeat(...reps: number[] | [number[]]): Tensor {
    return O.repeat(this, flatShape(reps));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return O.chunk(this, chunks, dim) as Tensor[];
  }
  split(sizes: number | number[], dim = 0): Tensor[] {
    return (typeof sizes === "number" ? O.split(this, sizes, dim) : O.split_sizes(this, sizes, dim)) as Tensor[];
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return O.narrow(this, dim, start, length);
  }
  /** Python's `x[..., start:end:step]` along one dim. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return O.slice(this, dim, start ?? null, end ?? null, step);
  }
  select(dim: number, index: number): Tensor {
    return O.select(this, dim, index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return O.index_select(this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return O.gather(this, dim, index, false);
  }
  /** Advanced indexing `x[i0, i1, ...]` with tensors (null keeps a dim whole). */
  index(indices: (Tensor | null)[]): Tensor {
    return O.index(this, indices);
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return O.masked_fill(this, mask, value);
  }
  flip(dims: number[]): Tensor {
    return O.flip(this, dims);
  }
  roll(shifts: number | number[], dims: number | number[]): Tensor {
    return O.roll(this, shifts, dims);
  }
  contiguous(): Tensor {
    return O.contiguous(this);
  }
  isContiguous(): boolean {
    return O.is_contiguous(this);
  }
  triu(diagonal = 0): Tensor {
    return O.triu(this, diagonal);
  }
  tril(diagonal = 0): Tensor {
    return O.tril(this, diagonal);
  }
  diagonal(offset = 0, d1 = 0, d2 = 1): Tensor {
    return O.diagonal(this, offset, d1, d2);
  }
  diag(diagonal = 0): Tensor {
    return O.diag(this, diagonal);
  }

  // ---- linear algebra ----
  matmul(o: Tensor): Tensor {
    return O.matmul(this, o);
  }
  mm(o: Tensor): Tensor {
    return O.mm(this, o);
  }
  bmm(o: Tensor): Tensor {
    return O.bmm(this, o);
  }
}

export type NestedArray = number | NestedArray[];

function flatShape(s: number[] | [number[]]): number[] {
  return Array.isArray(s[0]) ? (s[0] as number[]) : (s as number[]);
}

export { tensorOp, tensorsOp, valueOp, tensorOpAsync, wrapResult } from "./ops.js";
export { tidy, dispose, memory } from "./scope.js";
