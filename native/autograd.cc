// Autograd: backward, a tensor's .grad, torch.autograd.grad, and grad mode (thread-local in LibTorch).
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <c10/util/StringUtil.h>

#include <optional>
#include <string>
#include <vector>

#include "torch_addon.h"

namespace torchts {

// An array of tensor handles as tensors; with allow_null, null gives an undefined tensor (LibTorch's "none").
// undefined is an error: a JS mapping like `t.handle` of a non-Tensor gives it, and it must not mean "ones".
static std::vector<at::Tensor> tensor_array(HandleTable& handles, const Napi::Value& v, bool allow_null, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an array of Tensors");
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value e = arr.Get(i);
    if (allow_null && e.IsNull()) out.emplace_back();
    else out.push_back(handles.get(e, what));
  }
  return out;
}

// backward(outputs[], grads[]|null, retainGraph, createGraph)
Napi::Value Torch::Backward(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    auto outs = tensor_array(handles_, info[0], false, "backward");
    std::vector<at::Tensor> grads;
    if (!info[1].IsNull() && !info[1].IsUndefined()) grads = tensor_array(handles_, info[1], true, "backward: gradient");
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

// setGrad(id, gradId|null): null clears the gradient (as `p.grad = None`). A gradient must match the tensor's
// shape, dtype and device, as PyTorch checks `p.grad = g`: an optimizer would broadcast a [1] gradient over
// a [3] parameter, or mix dtypes, without a word.
Napi::Value Torch::SetGrad(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    at::Tensor& t = handles_.get(info[0]);
    if (info[1].IsNull()) {
      t.mutable_grad() = at::Tensor();
      return env.Undefined();
    }
    const at::Tensor& g = handles_.get(info[1], "grad");
    std::string why;
    if (!g.sizes().equals(t.sizes())) why = "shape " + c10::str(g.sizes()) + ", the tensor " + c10::str(t.sizes());
    else if (g.scalar_type() != t.scalar_type()) why = std::string("dtype ") + c10::toString(g.scalar_type()) + ", the tensor " + c10::toString(t.scalar_type());
    else if (g.device() != t.device()) why = "device " + g.device().str() + ", the tensor " + t.device().str();
    else if (g.layout() != t.layout()) why = "another layout than the tensor";
    else if (g.is_same(t)) why = "the tensor itself as its own gradient";
    if (!why.empty()) throw Napi::TypeError::New(env, "grad: the assigned gradient has " + why + "; a gradient must have the tensor's shape, dtype and device");
    t.mutable_grad() = g;
    return env.Undefined();
  });
}

// autogradGrad(outputs[], inputs[], gradOutputs[]|null, retainGraph, createGraph, allowUnused) -> (id|null)[]
Napi::Value Torch::AutogradGrad(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    auto outs = tensor_array(handles_, info[0], false, "grad: outputs");
    auto ins = tensor_array(handles_, info[1], false, "grad: inputs");
    std::vector<at::Tensor> gouts;
    if (!info[2].IsNull() && !info[2].IsUndefined()) gouts = tensor_array(handles_, info[2], true, "grad: gradOutputs");
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
