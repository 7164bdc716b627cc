// A tensor's lifetime and metadata (free, shape, dtype, device, requiresGrad), and its bytes in and out
// (fromBuffer, toBuffer, item).
#include <ATen/core/LegacyTypeDispatch.h>
#include <ATen/ops/empty.h>
#include <c10/util/StringUtil.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "torch_addon.h"

namespace torchts {

// free(handle) or free([handles]).
Napi::Value Torch::Free(const Napi::CallbackInfo& info) {
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

Napi::Value Torch::Shape(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    auto sizes = handles_.get(info[0]).sizes();
    auto arr = Napi::Array::New(info.Env(), sizes.size());
    for (size_t i = 0; i < sizes.size(); i++) arr.Set(i, Napi::Number::New(info.Env(), (double)sizes[i]));
    return arr;
  });
}

Napi::Value Torch::DType(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<int>(handles_.get(info[0]).scalar_type()));
  });
}

Napi::Value Torch::DeviceOf(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value { return Napi::String::New(info.Env(), handles_.get(info[0]).device().str()); });
}

Napi::Value Torch::RequiresGrad(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), handles_.get(info[0]).requires_grad()); });
}

// fromBuffer(typedArray, shape, dtype): copies the bytes into a new CPU tensor. The shape is read first: reading
// it can run JS (a getter) that detaches the data's buffer, so the buffer is looked at only afterwards.
// A view of a SharedArrayBuffer works too (its bytes are copied as they are at that moment).
Napi::Value Torch::FromBuffer(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[1].IsArray()) throw Napi::TypeError::New(env, "fromBuffer: the shape must be an array of integers");
    auto arr = info[1].As<Napi::Array>();
    std::vector<int64_t> shape(arr.Length());
    uint64_t numel = 1;
    for (uint32_t i = 0; i < shape.size(); i++) {
      Napi::Value e = arr.Get(i);
      double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : NAN;
      if (!(d >= 0 && d == std::trunc(d) && d <= 9007199254740992.0))
        throw Napi::TypeError::New(env, "tensor(): the shape must be non-negative integers, got " +
                                            (e.IsString() ? "'" + e.As<Napi::String>().Utf8Value() + "'" : e.ToString().Utf8Value()) +
                                            " at index " + std::to_string(i));
      shape[i] = static_cast<int64_t>(d);
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel)) numel = UINT64_MAX;
    }
    double code = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
    if (!(code >= 0 && code < static_cast<double>(c10::ScalarType::NumOptions) && code == std::trunc(code)) ||
        code == static_cast<double>(c10::ScalarType::Undefined))
      throw Napi::TypeError::New(env, "fromBuffer: unknown dtype code " + info[2].ToString().Utf8Value());
    auto dtype = static_cast<at::ScalarType>(static_cast<int>(code));
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromBuffer: expected a TypedArray");
    auto ta = info[0].As<Napi::TypedArray>();  // its length, read now: after the shape
    void* data = nullptr;
    napi_value buffer;
    bool detached = false;
    NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, ta, nullptr, nullptr, &data, &buffer, nullptr), Napi::Value());
    NAPI_THROW_IF_FAILED(env, napi_is_detached_arraybuffer(env, buffer, &detached), Napi::Value());
    if (detached)
      throw Napi::TypeError::New(env, "tensor(): the data's ArrayBuffer was detached (transferred to another thread or by "
                                      "structuredClone) before its bytes were copied: pass data that stays attached");
    size_t elem = c10::elementSize(dtype);
    if (numel == UINT64_MAX || __builtin_mul_overflow(numel, elem, &numel) || numel != ta.ByteLength())
      throw Napi::RangeError::New(env, "fromBuffer: " + std::to_string(ta.ByteLength()) + " bytes do not fill shape " +
                                           c10::str(at::IntArrayRef(shape)) + " of " + c10::toString(dtype) +
                                           (numel == UINT64_MAX ? " (more bytes than can be counted)" : " (" + std::to_string(numel) + " bytes)"));
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (numel) std::memcpy(t.data_ptr(), data, numel);
    return Napi::Number::New(env, handles_.put(std::move(t), env));
  });
}

// toBuffer(id): a fresh ArrayBuffer with the tensor's elements (moved to CPU, made contiguous).
Napi::Value Torch::ToBuffer(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    at::Tensor t = handles_.get(info[0]).detach().to(at::kCPU).contiguous();
    size_t nb = static_cast<size_t>(t.numel()) * t.element_size();
    auto buf = Napi::ArrayBuffer::New(info.Env(), nb);
    if (nb) std::memcpy(buf.Data(), t.data_ptr(), nb);
    return buf;
  });
}

Napi::Value Torch::Item(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& t = handles_.get(info[0]);
    if (t.numel() != 1)
      throw Napi::Error::New(info.Env(), "item(): the tensor has " + std::to_string(t.numel()) +
                                             " elements, only a one-element tensor converts to a number");
    // A number, never a graph: read below the autograd keys, as call_fast does for untracked tensors.
    at::Scalar s;
    {
      at::AutoDispatchBelowADInplaceOrView below;
      s = t.item();
    }
    if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
    // An integer beyond 2^53 has no exact JS number: an error, not a silently rounded value.
    constexpr int64_t kExact = int64_t{1} << 53;
    if (s.isIntegral(false) && (s.toLong() > kExact || s.toLong() < -kExact))
      throw Napi::RangeError::New(info.Env(), "item(): " + std::to_string(s.toLong()) +
                                                  " is beyond 2^53, where a JS number is no longer exact; read it as a BigInt "
                                                  "with data()[0] (a BigInt64Array)");
    return Napi::Number::New(info.Env(), s.toDouble());
  });
}

}  // namespace torchts
