// Ops by schema: op() looks a schema up once and keeps its OpEntry, call() runs it through the boxed
// dispatcher, and the commonest signatures take an unboxed call instead (no IValue stack).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <ATen/ScalarOps.h>
#include <ATen/core/LegacyTypeDispatch.h>

#include "torch_addon.h"

namespace torchts {

// op("aten::add.Tensor") -> op id. Looks the schema up once; calls then go by id.
Napi::Value Torch::Op(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    std::string full = info[0].As<Napi::String>();
    auto it = op_ids_.find(full);
    if (it != op_ids_.end()) return Napi::Number::New(info.Env(), it->second);
    auto dot = full.find('.');
    std::string name = full.substr(0, dot);
    std::string overload = dot == std::string::npos ? "" : full.substr(dot + 1);
    auto h = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!h) throw Napi::Error::New(info.Env(), "unknown operator schema '" + full + "' (expected e.g. 'aten::add.Tensor')");
    OpEntry e{*h, full, {}, {}};
    const auto& schema = h->schema();
    for (const auto& a : schema.arguments()) {
      auto t = a.real_type();  // the real type says ScalarType or MemoryFormat where type() says int
      bool opt = t->kind() == c10::TypeKind::OptionalType;
      if (opt) t = t->castRaw<c10::OptionalType>()->getElementType();
      Kind k = kind_of(t);
      e.args.push_back({k, opt, a.default_value().has_value(),
                        a.default_value().has_value() ? *a.default_value() : c10::IValue(), a.name()});
      if (k == Kind::IntList && a.default_value().has_value() && a.default_value()->isIntList())
        for (int64_t x : a.default_value()->toIntVector()) e.args.back().default_symints.emplace_back(x);
    }
    for (const auto& r : schema.returns()) {
      int alias = -1;
      if (r.alias_info() && r.alias_info()->isWrite()) {
        for (size_t i = 0; i < schema.arguments().size(); i++) {
          const auto* ai = schema.arguments()[i].alias_info();
          if (ai && ai->isWrite() && ai->beforeSets() == r.alias_info()->beforeSets()) { alias = (int)i; break; }
        }
      }
      e.return_alias_arg.push_back(alias);
    }
    e.alias_free = std::none_of(schema.arguments().begin(), schema.arguments().end(), [](const auto& a) { return a.alias_info(); }) &&
                   std::none_of(schema.returns().begin(), schema.returns().end(), [](const auto& r) { return r.alias_info(); });
    choose_fast(e);
    mark_int_division(e);
    uint32_t id = static_cast<uint32_t>(ops_.size());
    ops_.push_back(std::move(e));
    op_ids_.emplace(full, id);
    return Napi::Number::New(info.Env(), id);
  });
}

// opSchema(opId) -> { arguments: [{ name, type, hasDefault, keywordOnly }], returns: ["Tensor", "int", ...] }:
// the TypeScript side wraps only tensor handles as Tensors, and scripts/gen-op-types.ts types each op from it.
Napi::Value Torch::OpSchema(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const auto& schema = op_at(info[0]).handle.schema();
    auto args = Napi::Array::New(env, schema.arguments().size());
    for (size_t i = 0; i < schema.arguments().size(); i++) {
      const auto& a = schema.arguments()[i];
      auto o = Napi::Object::New(env);
      o.Set("name", a.name());
      o.Set("type", a.real_type()->str());  // the real type: ScalarType, MemoryFormat, where type() says int
      o.Set("hasDefault", a.default_value().has_value());
      o.Set("keywordOnly", a.kwarg_only());
      args.Set(i, o);
    }
    auto returns = Napi::Array::New(env, schema.returns().size());
    for (size_t i = 0; i < schema.returns().size(); i++) returns.Set(i, Napi::String::New(env, schema.returns()[i].type()->str()));
    auto out = Napi::Object::New(env);
    out.Set("arguments", args);
    out.Set("returns", returns);
    return out;
  });
}

const OpEntry& Torch::op_at(const Napi::Value& v) {
  double d;  // one N-API call: it fails for non-numbers
  if (napi_get_value_double(v.Env(), v, &d) != napi_ok || !(d >= 0 && d < static_cast<double>(ops_.size()) && d == std::trunc(d)))
    throw Napi::Error::New(v.Env(), "unknown op id");
  return ops_[static_cast<uint32_t>(d)];
}

// call(opId, ...args): every ATen op, autograd included, through one boxed dispatcher call.
Napi::Value Torch::Call(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    const OpEntry& op = op_at(info[0]);
    if (op.fast != Fast::None && info.Length() - 1 <= op.args.size()) return call_fast(info, op);
    torch::jit::Stack stack;
    build_stack(info, 1, op, stack);
    op.handle.callBoxed(stack);
    return results(info, 1, op, stack);
  });
}

// A scalar as ATen's wrapped_scalar_tensor would be after TensorIterator's cast to the common dtype, or
// nothing where that dtype is not self's own: self a float or double CPU tensor (not a reduced float, whose
// kernels read the scalar before the cast) and a real, non-boolean scalar, whose type never promotes it.
static std::optional<at::Tensor> wrap_in_dtype_of(const at::Tensor& self, const at::Scalar& s) {
  auto dt = self.scalar_type();
  if (!self.is_cpu() || (dt != at::kFloat && dt != at::kDouble) || s.isBoolean() || s.isComplex() || s.isSymbolic()) return std::nullopt;
  at::Tensor w = at::detail::scalar_tensor_static(s, dt, at::kCPU);
  w.unsafeGetTensorImpl()->set_wrapped_number(true);
  return w;
}

// `self op scalar (rest...)`: through the op's Tensor overload with the scalar made in self's dtype where
// that is exact (wrap_in_dtype_of), else the Scalar overload itself. In place or not, by the handles given.
template <typename Wrapped, typename Plain, typename Self, typename... Rest>
static decltype(auto) call_with_scalar(const std::optional<Wrapped>& wrapped, const std::optional<Plain>& plain, Self& self,
                                       const at::Scalar& s, const Rest&... rest) {
  if (wrapped)
    if (auto w = wrap_in_dtype_of(self, s)) return wrapped->call(self, *w, rest...);
  return plain->call(self, s, rest...);
}

// Autograd's own kernels call the op they wrap below the autograd and ADInplaceOrView keys. A call whose
// tensors autograd has no record of (no autograd metadata: no gradient asked for, no graph, not a view it
// tracks) of an op that neither writes nor aliases gets the same tensor from that layer, which only checks
// and redispatches; skipping it saves that hop in the op and in every op it is made of (conv2d's many).
template <typename F>
static at::Tensor below_autograd_if_untracked(const OpEntry& op, std::initializer_list<const at::Tensor*> inputs, F&& call) {
  if (op.alias_free && std::all_of(inputs.begin(), inputs.end(), [](const at::Tensor* t) { return !t || !t->unsafeGetTensorImpl()->autograd_meta(); })) {
    at::AutoDispatchBelowADInplaceOrView below;
    return call();
  }
  return call();
}

Napi::Value Torch::call_fast(const Napi::CallbackInfo& info, const OpEntry& op) {
  at::Tensor r;
  switch (op.fast) {
    case Fast::Conv: {
      SymInts sb, pb, db;
      auto stride = symints_arg(info, 3, op, sb), padding = symints_arg(info, 4, op, pb), dilation = symints_arg(info, 5, op, db);
      const at::Tensor &input = tensor_arg(info, 0, op), &weight = tensor_arg(info, 1, op);
      auto bias = opt_tensor_arg(info, 2, op);
      c10::SymInt groups(int_arg(info, 6, op));
      r = below_autograd_if_untracked(op, {&input, &weight, bias ? &*bias : nullptr},
                                      [&] { return op.conv->call(input, weight, bias, stride, padding, dilation, groups); });
      break;
    }
    case Fast::T: {
      const at::Tensor& self = tensor_arg(info, 0, op);
      r = below_autograd_if_untracked(op, {&self}, [&] { return op.t->call(self); });
      break;
    }
    case Fast::TT: {
      const at::Tensor &self = tensor_arg(info, 0, op), &other = tensor_arg(info, 1, op);
      r = below_autograd_if_untracked(op, {&self, &other}, [&] { return op.tt->call(self, other); });
      break;
    }
    case Fast::TS: {
      const at::Tensor& self = tensor_arg(info, 0, op);
      at::Scalar s = scalar_arg(info, 1, op);
      r = below_autograd_if_untracked(op, {&self}, [&] { return call_with_scalar(op.wrapped_tt, op.ts, self, s); });
      break;
    }
    case Fast::TSS: {
      const at::Tensor& self = tensor_arg(info, 0, op);
      at::Scalar s = scalar_arg(info, 1, op), s2 = scalar_arg(info, 2, op);
      r = below_autograd_if_untracked(op, {&self}, [&] { return call_with_scalar(op.wrapped_tts, op.tss, self, s, s2); });
      break;
    }
    case Fast::TTS: {
      const at::Tensor &self = tensor_arg(info, 0, op), &other = tensor_arg(info, 1, op);
      at::Scalar s = scalar_arg(info, 2, op);
      r = below_autograd_if_untracked(op, {&self, &other}, [&] { return op.tts->call(self, other, s); });
      break;
    }
    case Fast::Td: {
      Napi::Value v = info.Length() > 2 ? info[2] : info.Env().Undefined();
      std::optional<at::ScalarType> dtype;
      if (!v.IsUndefined() && !v.IsNull()) dtype = static_cast<at::ScalarType>(to_ivalue(v, op.args[1], op).toInt());
      const at::Tensor& self = tensor_arg(info, 0, op);
      r = below_autograd_if_untracked(op, {&self}, [&] { return op.td->call(self, dtype); });
      break;
    }
    // In place: the result is self, so the caller's own handle comes back (no new one).
    case Fast::TT_: op.tt_->call(mutable_tensor_arg(info, 0, op), tensor_arg(info, 1, op)); return info[1];
    case Fast::TTS_: op.tts_->call(mutable_tensor_arg(info, 0, op), tensor_arg(info, 1, op), scalar_arg(info, 2, op)); return info[1];
    case Fast::TS_: {
      at::Tensor& self = mutable_tensor_arg(info, 0, op);
      call_with_scalar(op.wrapped_tt_, op.ts_, self, scalar_arg(info, 1, op));
      return info[1];
    }
    case Fast::TSS_: {
      at::Tensor& self = mutable_tensor_arg(info, 0, op);
      at::Scalar s = scalar_arg(info, 1, op);
      call_with_scalar(op.wrapped_tts_, op.tss_, self, s, scalar_arg(info, 2, op));
      return info[1];
    }
    default: break;
  }
  return Napi::Number::New(info.Env(), handles_.put(std::move(r), info.Env()));
}

at::Scalar Torch::scalar_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
  const ArgSpec& a = op.args[i];
  if (i + 1 >= info.Length() && a.has_default) return a.default_value.toScalar();  // add's alpha, mostly
  Napi::Value v = i + 1 < info.Length() ? info[i + 1] : info.Env().Undefined();
  double d;  // the common case, a number, in one N-API call (as to_ivalue converts it)
  if (napi_get_value_double(info.Env(), v, &d) == napi_ok) return scalar_of_number(d);
  if (v.IsUndefined() && a.has_default) return a.default_value.toScalar();
  if (v.IsUndefined() || v.IsNull()) throw Napi::TypeError::New(info.Env(), op.name + ": argument '" + a.name + "' is required");
  return to_ivalue(v, a, op).toScalar();
}

at::Tensor& Torch::mutable_tensor_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
  // The common case in one N-API call; the rare one (missing, not a tensor, disposed) says what was wrong.
  if (i + 1 < info.Length())
    if (at::Tensor* t = handles_.find(info.Env(), info[i + 1])) return *t;
  if (i + 1 >= info.Length() || info[i + 1].IsUndefined() || info[i + 1].IsNull())
    throw Napi::TypeError::New(info.Env(), op.name + ": argument '" + op.args[i].name + "' is required");
  return handles_.get(info[i + 1], op.name.c_str(), &op.args[i].name);
}

const at::Tensor& Torch::tensor_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) { return mutable_tensor_arg(info, i, op); }

// The JS argument i (a number or an array of numbers), or the schema's default, as SymInts in `buf`.
c10::SymIntArrayRef Torch::symints_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op, SymInts& buf) {
  const ArgSpec& a = op.args[i];
  Napi::Value v = i + 1 < info.Length() ? info[i + 1] : Napi::Value();
  double d;
  if (v.IsEmpty() || v.IsUndefined()) {
    if (a.has_default && a.default_value.isIntList()) return a.default_symints;
  } else if (napi_get_value_double(info.Env(), v, &d) == napi_ok && d == std::trunc(d) && std::abs(d) <= 9007199254740992.0) {
    buf.emplace_back(static_cast<int64_t>(d));  // one number: the common conv padding and stride
    return buf;
  }
  for (int64_t x : to_ivalue(v.IsEmpty() ? info.Env().Undefined() : v, a, op).toIntVector()) buf.emplace_back(x);
  return buf;
}

int64_t Torch::int_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
  const ArgSpec& a = op.args[i];
  if (i + 1 >= info.Length() && a.has_default) return a.default_value.toInt();  // conv's groups, mostly: no N-API call
  Napi::Value v = i + 1 < info.Length() ? info[i + 1] : info.Env().Undefined();
  return v.IsUndefined() && a.has_default ? a.default_value.toInt() : to_ivalue(v, a, op).toInt();
}

std::optional<at::Tensor> Torch::opt_tensor_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
  if (i + 1 >= info.Length()) return std::nullopt;
  Napi::Value v = info[i + 1];
  if (at::Tensor* t = handles_.find(info.Env(), v)) return *t;
  napi_valuetype type;  // null or undefined (conv's bias, mostly) in one N-API call
  if (napi_typeof(info.Env(), v, &type) == napi_ok && (type == napi_null || type == napi_undefined)) return std::nullopt;
  return handles_.get(v, op.name.c_str(), &op.args[i].name);
}

}  // namespace torchts
