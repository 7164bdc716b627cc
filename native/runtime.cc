// The process around the ops: seeds and this environment's random state, threads, CUDA devices, the C
// allocator's thresholds, the handle table's stats and LibTorch's version.
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cmath>
#include <mutex>
#include <string>

#include "torch_addon.h"

namespace torchts {

Napi::Value Torch::ManualSeed(const Napi::CallbackInfo& info) {
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
Napi::Value Torch::GetRngState(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(gen_.mutex());
    return Napi::Number::New(info.Env(), handles_.put(gen_.get_state(), info.Env()));
  });
}

Napi::Value Torch::SetRngState(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& state = handles_.get(info[0]);
    std::lock_guard<std::mutex> lock(gen_.mutex());
    gen_.set_state(state);
    return info.Env().Undefined();
  });
}

static constexpr int kMaxThreads = 1024;

Napi::Value Torch::SetNumThreads(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    // Checked, not converted: 2.5 ran 2 threads and 2^32 + 1 ran 1. The cap keeps a typo from asking
    // OpenMP for millions of threads.
    double n = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : NAN;
    if (!(n >= 1 && n <= kMaxThreads && n == std::trunc(n)))
      throw Napi::RangeError::New(info.Env(), "setNumThreads: need at least 1 thread, an integer up to " + std::to_string(kMaxThreads) +
                                                  ", got " + info[0].ToString().Utf8Value());
    at::set_num_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
}

Napi::Value Torch::GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value Torch::CudaDeviceCount(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
  });
}

// glibc's mallopt(M_MMAP_THRESHOLD, M_TRIM_THRESHOLD): the policy lives in lib/tensor/allocator.ts.
// Returns false where the C library is not glibc or glibc refuses a value.
Napi::Value Torch::MallocOptions(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    bool ok = false;
#if defined(__GLIBC__)
    int mmap_threshold = info[0].As<Napi::Number>().Int32Value(), trim_threshold = info[1].As<Napi::Number>().Int32Value();
    ok = mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
#endif
    return Napi::Boolean::New(info.Env(), ok);
  });
}

Napi::Value Torch::Stats(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("liveTensors", Napi::Number::New(info.Env(), static_cast<double>(handles_.live())));
  o.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(handles_.bytes())));
  o.Set("ops", Napi::Number::New(info.Env(), static_cast<double>(ops_.size())));
  size_t fast = 0;
  for (const auto& e : ops_) fast += e.fast != Fast::None;
  o.Set("unboxedOps", Napi::Number::New(info.Env(), static_cast<double>(fast)));
  return o;
}

Napi::Value Torch::Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TORCH_VERSION);
}

}  // namespace torchts
