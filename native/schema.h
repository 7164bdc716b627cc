// What the dispatcher's schema says about an op, decided once when JS looks it up: how each JS argument
// becomes an IValue (Kind, ArgSpec), which return writes into an argument, and the unboxed fast path.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace torchts {

// How a JS argument becomes an IValue, decided once per op from its schema.
enum class Kind : uint8_t {
  Tensor, Int, Float, Bool, Scalar, Str, IntList, FloatList, BoolList, TensorList, OptTensorList,
  ScalarType, Device, MemoryFormat, Layout, Generator, Unsupported
};

struct ArgSpec {
  Kind kind;
  bool optional;
  bool has_default;
  c10::IValue default_value;
  std::string name;
};

// The commonest signatures also get an unboxed call (no IValue stack), chosen from the schema alone;
// every other op goes through the boxed dispatcher.
using SigT = at::Tensor(const at::Tensor&);
using SigTT = at::Tensor(const at::Tensor&, const at::Tensor&);
using SigTS = at::Tensor(const at::Tensor&, const at::Scalar&);
using SigTTS = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Scalar&);
// conv2d and its kin: (input, weight, bias?, stride, padding, dilation, groups)
using SigConv = at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, c10::SymIntArrayRef,
                           c10::SymIntArrayRef, c10::SymIntArrayRef, c10::SymInt);
enum class Fast : uint8_t { None, T, TT, TS, TTS, Conv };

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;
  std::vector<ArgSpec> args;
  // For each return, the index of the argument it writes into (in-place / out= ops), or -1.
  std::vector<int> return_alias_arg;
  Fast fast = Fast::None;
  std::optional<c10::TypedOperatorHandle<SigT>> t;
  std::optional<c10::TypedOperatorHandle<SigTT>> tt;
  std::optional<c10::TypedOperatorHandle<SigTS>> ts;
  std::optional<c10::TypedOperatorHandle<SigTTS>> tts;
  std::optional<c10::TypedOperatorHandle<SigConv>> conv;
};

// Picks an unboxed signature when the schema is exactly one of the fast ones (one plain Tensor return).
void choose_fast(OpEntry& e);

Kind kind_of(const c10::TypePtr& t);

}  // namespace torchts
