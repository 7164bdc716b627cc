// Autograd: backward, a tensor's .grad, torch.autograd.grad, and grad mode (thread-local in LibTorch).
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <optional>
#include <vector>

#include "torch_addon.h"

namespace torchts {

// An array of tensor handles as tensors; with allow_null, null or undefined gives an undefined tensor.
static std::vector<at::Tensor> tensor_array(HandleTable& handles, const Napi::Value& v, bool allow_null) {
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value e = arr.Get(i);
    if (allow_null && (e.IsNull() || e.IsUndefined())) out.emplace_back();
    else out.push_back(handles.get(e));
  }
  return out;
}

// backward(outputs[], grads[]|null, retainGraph, createGraph)
Napi::Value Torch::Backward(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    auto outs = tensor_array(handles_, info[0], false);
    std::vector<at::Tensor> grads;
    if (info[1].IsArray()) grads = tensor_array(handles_, info[1], true);
    std::optional<bool> retain;
    if (info[2].IsBoolean()) retain = info[2].As<Napi::Boolean>().Value();
    bool create = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
    torch::autograd::backward(outs, grads, retain, create);
    return info.Env().Undefined();
  });
}

Napi::Value Torch::Grad(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& g = handles_.get(info[0]).grad();
    if (!g.defined()) return info.Env().Null();
    return Napi::Number::New(info.Env(), handles_.put(g, info.Env()));
  });
}

// setGrad(id, gradId|null): null clears the gradient (as `p.grad = None`).
Napi::Value Torch::SetGrad(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    at::Tensor& t = handles_.get(info[0]);
    if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad() = at::Tensor();
    else t.mutable_grad() = handles_.get(info[1]);
    return info.Env().Undefined();
  });
}

// autogradGrad(outputs[], inputs[], gradOutputs[]|null, retainGraph, createGraph, allowUnused) -> (id|null)[]
Napi::Value Torch::AutogradGrad(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    auto outs = tensor_array(handles_, info[0], false);
    auto ins = tensor_array(handles_, info[1], false);
    std::vector<at::Tensor> gouts;
    if (info[2].IsArray()) gouts = tensor_array(handles_, info[2], true);
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

Napi::Value Torch::SetGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), prev);
}

Napi::Value Torch::IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

}  // namespace torchts
