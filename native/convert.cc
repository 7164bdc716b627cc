// JS values <-> IValues: a call's arguments become the dispatcher's stack, checked against the schema
// (with this environment's generator where none is given), and its returns become handles and numbers.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "torch_addon.h"

namespace torchts {

// Where an op runs, as far as its generator matters: its first tensor's device, else its `device`
// argument, else the CPU (a factory's default). CUDA draws keep the process's CUDA generator.
static bool runs_on_cpu(const torch::jit::Stack& stack) {
  for (const auto& v : stack) if (v.isTensor()) return v.toTensor().device().is_cpu();
  for (const auto& v : stack) if (v.isDevice()) return v.toDevice().is_cpu();
  return true;
}

// A JS number that is an integer (finite, no fraction, exact as a double), or a TypeError naming the argument.
static int64_t to_int(const Napi::Value& v, const ArgSpec& a, const OpEntry& op, const char* what, int64_t index = -1) {
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (std::isfinite(d) && d == std::trunc(d) && std::abs(d) <= 9007199254740992.0) return static_cast<int64_t>(d);
  std::string got = v.IsString() ? "'" + v.As<Napi::String>().Utf8Value() + "'" : v.ToString().Utf8Value();
  throw Napi::TypeError::New(v.Env(), op.name + ": argument '" + a.name + "' must be " + what + ", got " + got +
                                          (index >= 0 ? " at index " + std::to_string(index) : ""));
}

// An integral JS number is an integer scalar, so int tensors stay int (as Python's `x + 1`).
at::Scalar scalar_of_number(double d) {
  if (d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 9.0e15) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

// Builds the dispatcher stack from JS arguments info[first..], checked against the schema.
void Torch::build_stack(const Napi::CallbackInfo& info, size_t first, const OpEntry& op, torch::jit::Stack& stack) {
  Napi::Env env = info.Env();
  size_t given = info.Length() - first;
  if (given > op.args.size())
    throw Napi::TypeError::New(env, op.name + ": expected at most " + std::to_string(op.args.size()) +
                                        " arguments, got " + std::to_string(given));
  stack.reserve(op.args.size());
  int generator_at = -1;
  for (size_t i = 0; i < op.args.size(); i++) {
    const ArgSpec& a = op.args[i];
    Napi::Value v = i < given ? info[first + i] : env.Undefined();
    if (a.kind == Kind::Generator) generator_at = static_cast<int>(i);
    if (v.IsUndefined() || v.IsNull()) {
      if (a.has_default && v.IsUndefined()) { stack.push_back(a.default_value); continue; }
      if (a.optional || a.kind == Kind::Generator || a.kind == Kind::Layout) { stack.emplace_back(); continue; }
      throw Napi::TypeError::New(env, op.name + ": argument '" + a.name + "' is required");
    }
    stack.push_back(to_ivalue(v, a, op));
  }
  if (generator_at >= 0 && stack[generator_at].isNone() && runs_on_cpu(stack)) stack[generator_at] = c10::IValue(gen_);
  if (op.int_division) refuse_int_division_overflow(op, stack);
}

c10::IValue Torch::to_ivalue(const Napi::Value& v, const ArgSpec& a, const OpEntry& op) {
  Napi::Env env = v.Env();
  auto bad = [&](const char* what) {
    return Napi::TypeError::New(env, op.name + ": argument '" + a.name + "' must be " + what);
  };
  switch (a.kind) {
    case Kind::Tensor: return handles_.get(v, op.name.c_str(), &a.name);
    case Kind::Int: return c10::IValue(to_int(v, a, op, "an integer"));
    case Kind::Float:
      if (!v.IsNumber()) throw bad("a number");
      return c10::IValue(v.As<Napi::Number>().DoubleValue());
    case Kind::Bool:
      if (!v.IsBoolean()) throw bad("a boolean");
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case Kind::Scalar: {
      if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
      if (!v.IsNumber()) throw bad("a number");
      return c10::IValue(scalar_of_number(v.As<Napi::Number>().DoubleValue()));
    }
    case Kind::Str:
      if (!v.IsString()) throw bad("a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case Kind::ScalarType: {
      int64_t code = to_int(v, a, op, "a dtype code");
      if (code < 0 || code >= static_cast<int64_t>(c10::ScalarType::NumOptions) || code == static_cast<int64_t>(c10::ScalarType::Undefined))
        throw bad(("a dtype code (0 to " + std::to_string(static_cast<int>(c10::ScalarType::NumOptions) - 1) + "), got " + std::to_string(code)).c_str());
      return c10::IValue(code);
    }
    case Kind::MemoryFormat: {
      int64_t code = to_int(v, a, op, "a memory format code");
      if (code < 0 || code >= static_cast<int64_t>(c10::MemoryFormat::NumOptions))
        throw bad(("a memory format code (0 contiguous, 1 preserve, 2 channels_last, 3 channels_last_3d), got " + std::to_string(code)).c_str());
      return c10::IValue(code);
    }
    case Kind::Device:
      if (!v.IsString()) throw bad("a device string such as 'cpu' or 'cuda:0'");
      return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
    case Kind::IntList: {
      if (v.IsNumber()) return c10::IValue(std::vector<int64_t>{to_int(v, a, op, "an integer or an array of integers")});
      if (!v.IsArray()) throw bad("an array of integers");
      auto arr = v.As<Napi::Array>();
      std::vector<int64_t> out(arr.Length());
      for (uint32_t j = 0; j < out.size(); j++) out[j] = to_int(arr.Get(j), a, op, "an array of integers", j);
      return c10::IValue(out);
    }
    case Kind::FloatList: {
      if (!v.IsArray()) throw bad("an array of numbers");
      auto arr = v.As<Napi::Array>();
      std::vector<double> out(arr.Length());
      for (uint32_t j = 0; j < out.size(); j++) {
        Napi::Value e = arr.Get(j);
        if (!e.IsNumber()) throw bad("an array of numbers");
        out[j] = e.As<Napi::Number>().DoubleValue();
      }
      return c10::IValue(out);
    }
    case Kind::BoolList: {
      if (!v.IsArray()) throw bad("an array of booleans");
      auto arr = v.As<Napi::Array>();
      c10::List<bool> out;
      for (uint32_t j = 0; j < arr.Length(); j++) {
        Napi::Value e = arr.Get(j);
        if (!e.IsBoolean()) throw bad("an array of booleans");
        out.push_back(e.As<Napi::Boolean>().Value());
      }
      return c10::IValue(out);
    }
    case Kind::TensorList: {
      if (!v.IsArray()) throw bad("an array of Tensors");
      auto arr = v.As<Napi::Array>();
      std::vector<at::Tensor> out;
      out.reserve(arr.Length());
      for (uint32_t j = 0; j < arr.Length(); j++) out.push_back(handles_.get(arr.Get(j), op.name.c_str(), &a.name));
      return c10::IValue(out);
    }
    case Kind::OptTensorList: {
      if (!v.IsArray()) throw bad("an array of Tensors or nulls");
      auto arr = v.As<Napi::Array>();
      c10::List<std::optional<at::Tensor>> out;
      for (uint32_t j = 0; j < arr.Length(); j++) {
        Napi::Value e = arr.Get(j);
        if (e.IsNull() || e.IsUndefined()) out.push_back(std::nullopt);
        else out.push_back(handles_.get(e, op.name.c_str(), &a.name));
      }
      return c10::IValue(out);
    }
    case Kind::Layout: case Kind::Generator: return c10::IValue();
    default: throw bad("of a type torchts does not pass yet");
  }
}

Napi::Value Torch::from_ivalue(Napi::Env env, c10::IValue& v) {
  if (v.isTensor()) {
    at::Tensor t = std::move(v).toTensor();
    if (!t.defined()) return env.Null();
    return Napi::Number::New(env, handles_.put(std::move(t), env));
  }
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    auto arr = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) arr.Set(i, Napi::Number::New(env, handles_.put(list.get(i), env)));
    return arr;
  }
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isNone()) return env.Undefined();
  if (v.isScalar()) return Napi::Number::New(env, v.toScalar().toDouble());
  if (v.isIntList()) {
    auto l = v.toIntVector();
    auto arr = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) arr.Set(i, Napi::Number::New(env, static_cast<double>(l[i])));
    return arr;
  }
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  throw Napi::Error::New(env, std::string("torchts cannot return a value of type ") + v.tagKind());
}

// Results: a number (tensor id) for one return, an array for several. A return that writes into an
// argument (in-place, out=) gives back that argument's own id instead of a new handle.
Napi::Value Torch::results(const Napi::CallbackInfo& info, size_t first, const OpEntry& op, torch::jit::Stack& stack) {
  Napi::Env env = info.Env();
  auto one = [&](size_t r) -> Napi::Value {
    int alias = op.return_alias_arg[r];
    if (alias >= 0 && first + alias < info.Length()) return info[first + alias];
    return from_ivalue(env, stack[r]);
  };
  if (stack.size() == 1) return one(0);
  auto arr = Napi::Array::New(env, stack.size());
  for (size_t r = 0; r < stack.size(); r++) arr.Set(r, one(r));
  return arr;
}

}  // namespace torchts
