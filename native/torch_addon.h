// The Torch addon: one instance per environment (main thread or worker), holding that environment's
// handle table, op entries and random generator. This declares it; each job's methods live in their file.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <napi.h>

#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "handles.h"
#include "schema.h"

namespace torchts {

// convert.cc: a JS number as an ATen Scalar (the one rule for the boxed and the unboxed path).
at::Scalar scalar_of_number(double d);

class Torch : public Napi::Addon<Torch> {
 public:
  Torch(Napi::Env env, Napi::Object exports);  // addon.cc: the JS method list
  ~Torch();

 private:
  HandleTable handles_;
  // A deque: appending never moves an entry, and an async op's worker holds a pointer to its entry.
  std::deque<OpEntry> ops_;
  // This environment's CPU random generator (PyTorch's default seed until manualSeed): a seed or a draw in
  // one thread never moves another's. Ops with a `Generator?` argument get it when none is given.
  at::Generator gen_ = at::make_generator<at::CPUGeneratorImpl>(c10::default_rng_seed_val);
  std::unordered_map<std::string, uint32_t> op_ids_;

  // The JS methods run their bodies in guard: a c10::Error (without its C++ backtrace) or any std::exception
  // becomes a JS error with its message.
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

  // dispatch.cc: ops by schema (op, opReturns, call) and the unboxed fast path.
  Napi::Value Op(const Napi::CallbackInfo& info);
  Napi::Value OpSchema(const Napi::CallbackInfo& info);
  Napi::Value Call(const Napi::CallbackInfo& info);
  const OpEntry& op_at(const Napi::Value& v);
  Napi::Value call_fast(const Napi::CallbackInfo& info, const OpEntry& op);
  at::Scalar scalar_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op);
  const at::Tensor& tensor_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op);
  at::Tensor& mutable_tensor_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op);
  using SymInts = c10::SmallVector<c10::SymInt, 4>;
  c10::SymIntArrayRef symints_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op, SymInts& buf);
  int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op);
  std::optional<at::Tensor> opt_tensor_arg(const Napi::CallbackInfo& info, size_t i, const OpEntry& op);

  // convert.cc: JS values to the dispatcher's IValues and back.
  void build_stack(const Napi::CallbackInfo& info, size_t first, const OpEntry& op, torch::jit::Stack& stack);
  c10::IValue to_ivalue(const Napi::Value& v, const ArgSpec& a, const OpEntry& op);
  Napi::Value from_ivalue(Napi::Env env, c10::IValue& v);
  Napi::Value results(const Napi::CallbackInfo& info, size_t first, const OpEntry& op, torch::jit::Stack& stack);

  // async.cc: callAsync, an op on the libuv thread pool.
  class OpWorker;
  Napi::Value CallAsync(const Napi::CallbackInfo& info);

  // tensors.cc: a tensor's lifetime, metadata and bytes.
  Napi::Value Free(const Napi::CallbackInfo& info);
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value DeviceOf(const Napi::CallbackInfo& info);
  Napi::Value RequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value FromBuffer(const Napi::CallbackInfo& info);
  Napi::Value ToBuffer(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);

  // autograd.cc: gradients and grad mode.
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value Grad(const Napi::CallbackInfo& info);
  Napi::Value SetGrad(const Napi::CallbackInfo& info);
  Napi::Value AutogradGrad(const Napi::CallbackInfo& info);
  Napi::Value SetGradEnabled(const Napi::CallbackInfo& info);
  Napi::Value IsGradEnabled(const Napi::CallbackInfo& info);

  // runtime.cc: seeds and random state, threads, CUDA, the C allocator, stats, version.
  Napi::Value ManualSeed(const Napi::CallbackInfo& info);
  Napi::Value GetRngState(const Napi::CallbackInfo& info);
  Napi::Value SetRngState(const Napi::CallbackInfo& info);
  Napi::Value SetNumThreads(const Napi::CallbackInfo& info);
  Napi::Value GetNumThreads(const Napi::CallbackInfo& info);
  Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info);
  Napi::Value MallocOptions(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Version(const Napi::CallbackInfo& info);

  // dist.cc: distributed process groups over c10d (distBackends, distInit and the ProcessGroup object).
  class DistGroup;
  class DistInitWorker;
  Napi::FunctionReference dist_group_class_;
  Napi::Value DistBackends(const Napi::CallbackInfo& info);
  Napi::Value DistInit(const Napi::CallbackInfo& info);
};

}  // namespace torchts
