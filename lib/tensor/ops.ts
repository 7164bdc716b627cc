// Ops by ATen schema name: one generic native entry point reaches every op, so adding one is a line in
// the table below (`name: tensorOp("aten::name.overload")`) and a method that calls it.
import { native, type NativeResult } from "./native.js";
import { Tensor } from "./tensor.js";
import type { OpArgs } from "./op-types.generated.js";

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
      case 1:
        r = native.call(id, toNative(a0));
        break;
      case 2:
        r = native.call(id, toNative(a0), toNative(a1));
        break;
      case 3:
        r = native.call(id, toNative(a0), toNative(a1), toNative(a2));
        break;
      case 4:
        r = native.call(id, toNative(a0), toNative(a1), toNative(a2), toNative(a3));
        break;
      case 5:
        r = native.call(id, toNative(a0), toNative(a1), toNative(a2), toNative(a3), toNative(a4));
        break;
      default:
        r = native.call(id, ...Array.prototype.slice.call(arguments, 0, n).map(toNative));
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
  // Several: a tuple of Tensors or one Tensor[] (one plain Tensor is tensorOp's).
  const tensors =
    (returns.length > 1 && returns.every((r) => TENSOR_RETURN.test(r))) || (returns.length === 1 && /^Tensor(\([a-z]!?\))?\[\]$/.test(returns[0]!));
  const ok =
    want === "tensor"
      ? returns.length === 1 && TENSOR_RETURN.test(returns[0]!)
      : want === "tensors"
        ? returns.length > 0 && tensors
        : !returns.some((r) => r.startsWith("Tensor"));
  if (!ok) {
    const use =
      returns.length === 0
        ? "an op that returns nothing"
        : !returns.some((r) => r.startsWith("Tensor"))
          ? `valueOp("${schema}")`
          : returns.length === 1 && TENSOR_RETURN.test(returns[0]!)
            ? `tensorOp("${schema}")`
            : `tensorsOp("${schema}")`;
    throw new TypeError(
      `${schema} returns (${returns.join(", ")}), not ${want === "tensor" ? "one Tensor" : want === "tensors" ? "Tensors" : "a plain value"}: use ${use}`,
    );
  }
  return id;
}

// The op table: one line per op.
// (An op table reads best as rows: the formatter leaves it.)
// prettier-ignore
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
  logical_and: tensorOp("aten::logical_and"), logical_or: tensorOp("aten::logical_or"), logical_not: tensorOp("aten::logical_not"),
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
