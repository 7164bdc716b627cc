// A tensor's lifetime and metadata (free, shape, dtype, device, requiresGrad), and its bytes in and out
// (fromBuffer, toBuffer, item).
#include <ATen/ops/empty.h>
#include <c10/util/StringUtil.h>

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

// fromBuffer(typedArray, shape, dtype): copies the bytes into a new CPU tensor.
Napi::Value Torch::FromBuffer(const Napi::CallbackInfo& info) {
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
    auto s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
    return Napi::Number::New(info.Env(), s.toDouble());
  });
}

}  // namespace torchts
