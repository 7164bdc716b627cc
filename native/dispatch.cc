// Ops by schema: op() looks a schema up once and keeps its OpEntry, call() runs it through the boxed
// dispatcher, and the commonest signatures take an unboxed call instead (no IValue stack).
#include <cmath>
#include <string>
#include <vector>

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
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d < static_cast<double>(ops_.size()) && d == std::trunc(d))) throw Napi::Error::New(v.Env(), "unknown op id");
  uint32_t id = static_cast<uint32_t>(d);
  return ops_[id];
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

Napi::Value Torch::call_fast(const Napi::CallbackInfo& info, const OpEntry& op) {
  at::Tensor r;
  switch (op.fast) {
    case Fast::Conv: {
      auto stride = symints_arg(info, 3, op), padding = symints_arg(info, 4, op), dilation = symints_arg(info, 5, op);
      r = op.conv->call(tensor_arg(info, 0, op), tensor_arg(info, 1, op), opt_tensor_arg(info, 2, op), stride, padding, dilation,
                        c10::SymInt(int_arg(info, 6, op)));
      break;
    }
    case Fast::T: r = op.t->call(tensor_arg(info, 0, op)); break;
    case Fast::TT: r = op.tt->call(tensor_arg(info, 0, op), tensor_arg(info, 1, op)); break;
    case Fast::TS: r = op.ts->call(tensor_arg(info, 0, op), scalar_arg(info, 1, op)); break;
    case Fast::TTS: r = op.tts->call(tensor_arg(info, 0, op), tensor_arg(info, 1, op), scalar_arg(info, 2, op)); break;
    default: break;
  }
  return Napi::Number::New(info.Env(), handles_.put(std::move(r), info.Env()));
}

at::Scalar Torch::scalar_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
  const ArgSpec& a = op.args[i];
  Napi::Value v = i + 1 < info.Length() ? info[i + 1] : info.Env().Undefined();
  if (v.IsUndefined() && a.has_default) return a.default_value.toScalar();
  if (v.IsUndefined() || v.IsNull()) throw Napi::TypeError::New(info.Env(), op.name + ": argument '" + a.name + "' is required");
  return to_ivalue(v, a, op).toScalar();
}

const at::Tensor& Torch::tensor_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
  if (i + 1 >= info.Length() || info[i + 1].IsUndefined() || info[i + 1].IsNull())
    throw Napi::TypeError::New(info.Env(), op.name + ": argument '" + op.args[i].name + "' is required");
  return handles_.get(info[i + 1], op.name.c_str(), &op.args[i].name);
}

// The JS argument i (a number or an array of numbers), or the schema's default, as SymInts.
std::vector<c10::SymInt> Torch::symints_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
  Napi::Value v = i + 1 < info.Length() ? info[i + 1] : info.Env().Undefined();
  const ArgSpec& a = op.args[i];
  std::vector<int64_t> ints = v.IsUndefined() && a.has_default ? a.default_value.toIntVector() : to_ivalue(v, a, op).toIntVector();
  return std::vector<c10::SymInt>(ints.begin(), ints.end());
}

int64_t Torch::int_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
  Napi::Value v = i + 1 < info.Length() ? info[i + 1] : info.Env().Undefined();
  const ArgSpec& a = op.args[i];
  return v.IsUndefined() && a.has_default ? a.default_value.toInt() : to_ivalue(v, a, op).toInt();
}

std::optional<at::Tensor> Torch::opt_tensor_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
  if (i + 1 >= info.Length() || info[i + 1].IsUndefined() || info[i + 1].IsNull()) return std::nullopt;
  return handles_.get(info[i + 1], op.name.c_str(), &op.args[i].name);
}

}  // namespace torchts
