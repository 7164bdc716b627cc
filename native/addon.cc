// torchts native layer: tensor handles, one generic op entry point (LibTorch's dispatcher, by schema),
// autograd, devices, dtypes, errors and memory accounting. Everything else lives in TypeScript.
// The handle table lives in handles.h, with why JS holds integer handles.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <napi.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "handles.h"
#include "schema.h"

namespace torchts {

class Torch : public Napi::Addon<Torch> {
 public:
  Torch(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
        InstanceMethod("op", &Torch::Op),
        InstanceMethod("opReturns", &Torch::OpReturns),
        InstanceMethod("call", &Torch::Call),
        InstanceMethod("callAsync", &Torch::CallAsync),
        InstanceMethod("free", &Torch::Free),
        InstanceMethod("shape", &Torch::Shape),
        InstanceMethod("dtype", &Torch::DType),
        InstanceMethod("device", &Torch::DeviceOf),
        InstanceMethod("requiresGrad", &Torch::RequiresGrad),
        InstanceMethod("fromBuffer", &Torch::FromBuffer),
        InstanceMethod("toBuffer", &Torch::ToBuffer),
        InstanceMethod("item", &Torch::Item),
        InstanceMethod("backward", &Torch::Backward),
        InstanceMethod("grad", &Torch::Grad),
        InstanceMethod("setGrad", &Torch::SetGrad),
        InstanceMethod("autogradGrad", &Torch::AutogradGrad),
        InstanceMethod("setGradEnabled", &Torch::SetGradEnabled),
        InstanceMethod("isGradEnabled", &Torch::IsGradEnabled),
        InstanceMethod("manualSeed", &Torch::ManualSeed),
        InstanceMethod("getRngState", &Torch::GetRngState),
        InstanceMethod("setRngState", &Torch::SetRngState),
        InstanceMethod("setNumThreads", &Torch::SetNumThreads),
        InstanceMethod("getNumThreads", &Torch::GetNumThreads),
        InstanceMethod("cudaDeviceCount", &Torch::CudaDeviceCount),
        InstanceMethod("mallocOptions", &Torch::MallocOptions),
        InstanceMethod("stats", &Torch::Stats),
        InstanceMethod("version", &Torch::Version),
    });
  }

  ~Torch() { handles_.clear(); }

 private:
  HandleTable handles_;
  // A deque: appending never moves an entry, and an async op's worker holds a pointer to its entry.
  std::deque<OpEntry> ops_;
  // This environment's CPU random generator (PyTorch's default seed until manualSeed): a seed or a draw in
  // one thread never moves another's. Ops with a `Generator?` argument get it when none is given.
  at::Generator gen_ = at::make_generator<at::CPUGeneratorImpl>(c10::default_rng_seed_val);
  std::unordered_map<std::string, uint32_t> op_ids_;

  template <typename F>
  Napi::Value guard(const Napi::CallbackInfo& info, F&& f) {
    try {
      return f();
    } catch (const Napi::Error&) {
      throw;
    } catch (const c10::Error& e) {
      throw Napi::Error::New(info.Env(), e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
  }

  // op("aten::add.Tensor") -> op id. Looks the schema up once; calls then go by id.
  Napi::Value Op(const Napi::CallbackInfo& info) {
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
      uint32_t id = static_cast<uint32_t>(ops_.size());
      ops_.push_back(std::move(e));
      op_ids_.emplace(full, id);
      return Napi::Number::New(info.Env(), id);
    });
  }

  // opReturns(opId) -> the schema's return types ("Tensor", "int", "Tensor[]", ...), so the TypeScript side
  // wraps only tensor handles as Tensors.
  Napi::Value OpReturns(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      const auto& rs = op_at(info[0]).handle.schema().returns();
      auto arr = Napi::Array::New(info.Env(), rs.size());
      for (size_t i = 0; i < rs.size(); i++) arr.Set(i, Napi::String::New(info.Env(), rs[i].type()->str()));
      return arr;
    });
  }

  // Builds the dispatcher stack from JS arguments info[first..], checked against the schema.
  void build_stack(const Napi::CallbackInfo& info, size_t first, const OpEntry& op, torch::jit::Stack& stack) {
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
  }

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

  c10::IValue to_ivalue(const Napi::Value& v, const ArgSpec& a, const OpEntry& op) {
    Napi::Env env = v.Env();
    auto bad = [&](const char* what) {
      return Napi::TypeError::New(env, op.name + ": argument '" + a.name + "' must be " + what);
    };
    switch (a.kind) {
      case Kind::Tensor: return handles_.get(v);
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
        double d = v.As<Napi::Number>().DoubleValue();
        // An integral JS number is an integer scalar, so int tensors stay int (as Python's `x + 1`).
        if (d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 9.0e15)
          return c10::IValue(static_cast<int64_t>(d));
        return c10::IValue(d);
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
        for (uint32_t j = 0; j < arr.Length(); j++) out.push_back(handles_.get(arr.Get(j)));
        return c10::IValue(out);
      }
      case Kind::OptTensorList: {
        if (!v.IsArray()) throw bad("an array of Tensors or nulls");
        auto arr = v.As<Napi::Array>();
        c10::List<std::optional<at::Tensor>> out;
        for (uint32_t j = 0; j < arr.Length(); j++) {
          Napi::Value e = arr.Get(j);
          if (e.IsNull() || e.IsUndefined()) out.push_back(std::nullopt);
          else out.push_back(handles_.get(e));
        }
        return c10::IValue(out);
      }
      case Kind::Layout: case Kind::Generator: return c10::IValue();
      default: throw bad("of a type torchts does not pass yet");
    }
  }

  Napi::Value from_ivalue(Napi::Env env, c10::IValue& v) {
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
  Napi::Value results(const Napi::CallbackInfo& info, size_t first, const OpEntry& op, torch::jit::Stack& stack) {
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

  const OpEntry& op_at(const Napi::Value& v) {
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d < static_cast<double>(ops_.size()) && d == std::trunc(d))) throw Napi::Error::New(v.Env(), "unknown op id");
    uint32_t id = static_cast<uint32_t>(d);
    return ops_[id];
  }

  // call(opId, ...args): every ATen op, autograd included, through one boxed dispatcher call.
  Napi::Value Call(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      const OpEntry& op = op_at(info[0]);
      if (op.fast != Fast::None && info.Length() - 1 <= op.args.size()) return call_fast(info, op);
      torch::jit::Stack stack;
      build_stack(info, 1, op, stack);
      op.handle.callBoxed(stack);
      return results(info, 1, op, stack);
    });
  }

  at::Scalar scalar_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
    const ArgSpec& a = op.args[i];
    Napi::Value v = i + 1 < info.Length() ? info[i + 1] : info.Env().Undefined();
    if (v.IsUndefined() && a.has_default) return a.default_value.toScalar();
    if (v.IsUndefined() || v.IsNull()) throw Napi::TypeError::New(info.Env(), op.name + ": argument '" + a.name + "' is required");
    return to_ivalue(v, a, op).toScalar();
  }

  const at::Tensor& tensor_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
    if (i + 1 >= info.Length() || info[i + 1].IsUndefined() || info[i + 1].IsNull())
      throw Napi::TypeError::New(info.Env(), op.name + ": argument '" + op.args[i].name + "' is required");
    return handles_.get(info[i + 1]);
  }

  // The JS argument i (a number or an array of numbers), or the schema's default, as SymInts.
  std::vector<c10::SymInt> symints_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
    Napi::Value v = i + 1 < info.Length() ? info[i + 1] : info.Env().Undefined();
    const ArgSpec& a = op.args[i];
    std::vector<int64_t> ints = v.IsUndefined() && a.has_default ? a.default_value.toIntVector() : to_ivalue(v, a, op).toIntVector();
    return std::vector<c10::SymInt>(ints.begin(), ints.end());
  }

  int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
    Napi::Value v = i + 1 < info.Length() ? info[i + 1] : info.Env().Undefined();
    const ArgSpec& a = op.args[i];
    return v.IsUndefined() && a.has_default ? a.default_value.toInt() : to_ivalue(v, a, op).toInt();
  }

  std::optional<at::Tensor> opt_tensor_arg(const Napi::CallbackInfo& info, size_t i) {
    if (i + 1 >= info.Length() || info[i + 1].IsUndefined() || info[i + 1].IsNull()) return std::nullopt;
    return handles_.get(info[i + 1]);
  }

  Napi::Value call_fast(const Napi::CallbackInfo& info, const OpEntry& op) {
    at::Tensor r;
    switch (op.fast) {
      case Fast::Conv: {
        auto stride = symints_arg(info, 3, op), padding = symints_arg(info, 4, op), dilation = symints_arg(info, 5, op);
        r = op.conv->call(tensor_arg(info, 0, op), tensor_arg(info, 1, op), opt_tensor_arg(info, 2), stride, padding, dilation,
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

  // callAsync(opId, ...args): the same, run on the libuv thread pool; resolves with the same results.
  class OpWorker : public Napi::AsyncWorker {
   public:
    OpWorker(Napi::Env env, Torch* owner, const OpEntry* op, torch::jit::Stack stack)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner), op_(op),
          stack_(std::move(stack)), grad_(c10::GradMode::is_enabled()) {}
    Napi::Promise promise() { return deferred_.Promise(); }
    void Execute() override {
      try {
        c10::AutoGradMode mode(grad_);  // grad mode is thread-local: carry the caller's
        op_->handle.callBoxed(stack_);
      } catch (const c10::Error& e) {
        SetError(e.what_without_backtrace());
      } catch (const std::exception& e) {
        SetError(e.what());
      }
    }
    void OnOK() override {
      Napi::Env env = Env();
      try {
        if (stack_.size() == 1) {
          deferred_.Resolve(owner_->from_ivalue(env, stack_[0]));
        } else {
          auto arr = Napi::Array::New(env, stack_.size());
          for (size_t r = 0; r < stack_.size(); r++) arr.Set(r, owner_->from_ivalue(env, stack_[r]));
          deferred_.Resolve(arr);
        }
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      }
    }
    void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

   private:
    Napi::Promise::Deferred deferred_;
    Torch* owner_;
    const OpEntry* op_;
    torch::jit::Stack stack_;
    bool grad_;
  };

  Napi::Value CallAsync(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      const OpEntry& op = op_at(info[0]);
      for (int a : op.return_alias_arg)
        if (a >= 0) throw Napi::Error::New(info.Env(), op.name + ": in-place ops cannot run asynchronously");
      torch::jit::Stack stack;
      build_stack(info, 1, op, stack);
      auto* w = new OpWorker(info.Env(), this, &op, std::move(stack));
      auto p = w->promise();
      w->Queue();
      return p;
    });
  }

  // free(handle) or free([handles]).
  Napi::Value Free(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    double h;
    if (napi_get_value_double(env, info[0], &h) == napi_ok) {
      handles_.release(h, env);
    } else if (info[0].IsArray()) {
      auto arr = info[0].As<Napi::Array>();
      for (uint32_t i = 0; i < arr.Length(); i++) handles_.release(arr.Get(i).As<Napi::Number>().DoubleValue(), env);
    }
    return env.Undefined();
  }

  Napi::Value Shape(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      auto sizes = handles_.get(info[0]).sizes();
      auto arr = Napi::Array::New(info.Env(), sizes.size());
      for (size_t i = 0; i < sizes.size(); i++) arr.Set(i, Napi::Number::New(info.Env(), (double)sizes[i]));
      return arr;
    });
  }

  Napi::Value DType(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      return Napi::Number::New(info.Env(), static_cast<int>(handles_.get(info[0]).scalar_type()));
    });
  }

  Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value { return Napi::String::New(info.Env(), handles_.get(info[0]).device().str()); });
  }

  Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), handles_.get(info[0]).requires_grad()); });
  }

  // fromBuffer(typedArray, shape, dtype): copies the bytes into a new CPU tensor.
  Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      Napi::Env env = info.Env();
      if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromBuffer: expected a TypedArray");
      auto ta = info[0].As<Napi::TypedArray>();
      auto arr = info[1].As<Napi::Array>();
      std::vector<int64_t> shape(arr.Length());
      for (uint32_t i = 0; i < shape.size(); i++) shape[i] = arr.Get(i).As<Napi::Number>().Int64Value();
      auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
      at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
      size_t nb = static_cast<size_t>(t.numel()) * t.element_size();
      if (nb != ta.ByteLength())
        throw Napi::RangeError::New(env, "fromBuffer: " + std::to_string(ta.ByteLength()) + " bytes do not fill shape " +
                                             c10::str(t.sizes()) + " of " + c10::toString(dtype) + " (" +
                                             std::to_string(nb) + " bytes)");
      auto* src = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      if (nb) std::memcpy(t.data_ptr(), src, nb);
      return Napi::Number::New(env, handles_.put(std::move(t), env));
    });
  }

  // toBuffer(id): a fresh ArrayBuffer with the tensor's elements (moved to CPU, made contiguous).
  Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      at::Tensor t = handles_.get(info[0]).detach().to(at::kCPU).contiguous();
      size_t nb = static_cast<size_t>(t.numel()) * t.element_size();
      auto buf = Napi::ArrayBuffer::New(info.Env(), nb);
      if (nb) std::memcpy(buf.Data(), t.data_ptr(), nb);
      return buf;
    });
  }

  Napi::Value Item(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      const at::Tensor& t = handles_.get(info[0]);
      if (t.numel() != 1)
        throw Napi::Error::New(info.Env(), "item(): the tensor has " + std::to_string(t.numel()) +
                                               " elements, only a one-element tensor converts to a number");
      auto s = t.item();
      if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
      return Napi::Number::New(info.Env(), s.toDouble());
    });
  }

  std::vector<at::Tensor> tensor_array(const Napi::Value& v, bool allow_null) {
    auto arr = v.As<Napi::Array>();
    std::vector<at::Tensor> out;
    out.reserve(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value e = arr.Get(i);
      if (allow_null && (e.IsNull() || e.IsUndefined())) out.emplace_back();
      else out.push_back(handles_.get(e));
    }
    return out;
  }

  // backward(outputs[], grads[]|null, retainGraph, createGraph)
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      auto outs = tensor_array(info[0], false);
      std::vector<at::Tensor> grads;
      if (info[1].IsArray()) grads = tensor_array(info[1], true);
      std::optional<bool> retain;
      if (info[2].IsBoolean()) retain = info[2].As<Napi::Boolean>().Value();
      bool create = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
      torch::autograd::backward(outs, grads, retain, create);
      return info.Env().Undefined();
    });
  }

  Napi::Value Grad(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      const at::Tensor& g = handles_.get(info[0]).grad();
      if (!g.defined()) return info.Env().Null();
      return Napi::Number::New(info.Env(), handles_.put(g, info.Env()));
    });
  }

  // setGrad(id, gradId|null): null clears the gradient (as `p.grad = None`).
  Napi::Value SetGrad(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      at::Tensor& t = handles_.get(info[0]);
      if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad() = at::Tensor();
      else t.mutable_grad() = handles_.get(info[1]);
      return info.Env().Undefined();
    });
  }

  // autogradGrad(outputs[], inputs[], gradOutputs[]|null, retainGraph, createGraph, allowUnused) -> (id|null)[]
  Napi::Value AutogradGrad(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      auto outs = tensor_array(info[0], false);
      auto ins = tensor_array(info[1], false);
      std::vector<at::Tensor> gouts;
      if (info[2].IsArray()) gouts = tensor_array(info[2], true);
      std::optional<bool> retain;
      if (info[3].IsBoolean()) retain = info[3].As<Napi::Boolean>().Value();
      bool create = info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
      bool unused = info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
      auto grads = torch::autograd::grad(outs, ins, gouts, retain, create, unused);
      auto arr = Napi::Array::New(info.Env(), grads.size());
      for (size_t i = 0; i < grads.size(); i++)
        arr.Set(i, grads[i].defined() ? Napi::Value(Napi::Number::New(info.Env(), handles_.put(grads[i], info.Env())))
                                      : info.Env().Null());
      return arr;
    });
  }

  Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
    bool prev = c10::GradMode::is_enabled();
    c10::GradMode::set_enabled(info[0].ToBoolean().Value());
    return Napi::Boolean::New(info.Env(), prev);
  }

  Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
  }

  Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      double d = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : NAN;
      if (!(std::isfinite(d) && d == std::trunc(d) && d >= 0 && d <= 9007199254740992.0))
        throw Napi::TypeError::New(info.Env(), "manualSeed: the seed must be a non-negative integer, got " + info[0].ToString().Utf8Value());
      uint64_t seed = static_cast<uint64_t>(d);
      {
        std::lock_guard<std::mutex> lock(gen_.mutex());
        gen_.set_current_seed(seed);
      }
      // CUDA generators are one per device for the process; seeding them here keeps CUDA draws seeded too.
      // The process's CPU generator is left alone: other threads may be drawing from theirs.
      if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
      return info.Env().Undefined();
    });
  }

  // The CPU generator's state as a uint8 tensor, so a resumed run draws the same numbers.
  Napi::Value GetRngState(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(gen_.mutex());
      return Napi::Number::New(info.Env(), handles_.put(gen_.get_state(), info.Env()));
    });
  }

  Napi::Value SetRngState(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      const at::Tensor& state = handles_.get(info[0]);
      std::lock_guard<std::mutex> lock(gen_.mutex());
      gen_.set_state(state);
      return info.Env().Undefined();
    });
  }

  Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      int n = info[0].As<Napi::Number>().Int32Value();
      if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: need at least 1 thread");
      at::set_num_threads(n);
      return info.Env().Undefined();
    });
  }

  Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), at::get_num_threads());
  }

  Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
    });
  }

  // glibc's mallopt(M_MMAP_THRESHOLD, M_TRIM_THRESHOLD): the policy lives in lib/tensor/allocator.ts.
  // Returns false where the C library is not glibc or glibc refuses a value.
  Napi::Value MallocOptions(const Napi::CallbackInfo& info) {
    return guard(info, [&]() -> Napi::Value {
      bool ok = false;
#if defined(__GLIBC__)
      int mmap_threshold = info[0].As<Napi::Number>().Int32Value(), trim_threshold = info[1].As<Napi::Number>().Int32Value();
      ok = mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
#endif
      return Napi::Boolean::New(info.Env(), ok);
    });
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    auto o = Napi::Object::New(info.Env());
    o.Set("liveTensors", Napi::Number::New(info.Env(), static_cast<double>(handles_.live())));
    o.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(handles_.bytes())));
    o.Set("ops", Napi::Number::New(info.Env(), static_cast<double>(ops_.size())));
    size_t fast = 0;
    for (const auto& e : ops_) fast += e.fast != Fast::None;
    o.Set("unboxedOps", Napi::Number::New(info.Env(), static_cast<double>(fast)));
    return o;
  }

  Napi::Value Version(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), TORCH_VERSION);
  }
};

}  // namespace torchts

using torchts::Torch;
NODE_API_ADDON(Torch)
