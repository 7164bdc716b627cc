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
  // An int list's default as SymInts, made once (the unboxed conv path passes it as is).
  std::vector<c10::SymInt> default_symints;
};

// The commonest signatures also get an unboxed call (no IValue stack), chosen from the schema alone;
// every other op goes through the boxed dispatcher.
using SigT = at::Tensor(const at::Tensor&);
using SigTT = at::Tensor(const at::Tensor&, const at::Tensor&);
using SigTS = at::Tensor(const at::Tensor&, const at::Scalar&);
using SigTTS = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Scalar&);
using SigTSS = at::Tensor(const at::Tensor&, const at::Scalar&, const at::Scalar&);
// A reduction with an optional dtype (sum, mean).
using SigTd = at::Tensor(const at::Tensor&, std::optional<at::ScalarType>);
// In-place ops: the result is `self` itself (the JS caller's own handle comes back).
using SigTT_ = at::Tensor&(at::Tensor&, const at::Tensor&);
using SigTS_ = at::Tensor&(at::Tensor&, const at::Scalar&);
using SigTTS_ = at::Tensor&(at::Tensor&, const at::Tensor&, const at::Scalar&);
using SigTSS_ = at::Tensor&(at::Tensor&, const at::Scalar&, const at::Scalar&);
// conv2d and its kin: (input, weight, bias?, stride, padding, dilation, groups)
using SigConv = at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, c10::SymIntArrayRef,
                           c10::SymIntArrayRef, c10::SymIntArrayRef, c10::SymInt);
enum class Fast : uint8_t { None, T, TT, TS, TSS, TTS, Td, Conv, TT_, TS_, TSS_, TTS_ };

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;
  std::vector<ArgSpec> args;
  // For each return, the index of the argument it writes into (in-place / out= ops), or -1.
  std::vector<int> return_alias_arg;
  Fast fast = Fast::None;
  // The schema marks no argument or return as aliased or written (no view, no in-place, no out=): called on
  // tensors autograd knows nothing of, the op may skip the autograd keys (Torch::call_fast).
  bool alias_free = false;
  // Integer division that can overflow (int_division.cc): checked before each call, on the boxed path.
  bool int_division = false;
  int rounding_mode_arg = -1;  // div and divide: only a rounding mode makes them integer division
  std::optional<c10::TypedOperatorHandle<SigT>> t;
  std::optional<c10::TypedOperatorHandle<SigTT>> tt;
  std::optional<c10::TypedOperatorHandle<SigTS>> ts;
  std::optional<c10::TypedOperatorHandle<SigTTS>> tts;
  std::optional<c10::TypedOperatorHandle<SigConv>> conv;
  std::optional<c10::TypedOperatorHandle<SigTSS>> tss;
  std::optional<c10::TypedOperatorHandle<SigTd>> td;
  std::optional<c10::TypedOperatorHandle<SigTT_>> tt_;
  std::optional<c10::TypedOperatorHandle<SigTS_>> ts_;
  std::optional<c10::TypedOperatorHandle<SigTSS_>> tss_;
  std::optional<c10::TypedOperatorHandle<SigTTS_>> tts_;
  // The op's Tensor overload, for the Scalar overloads that ATen defines as that overload on a wrapped scalar
  // (scalar_as_tensor in schema.cc): called with the scalar already in self's dtype, which saves ATen's own
  // cast of the scalar, a whole op, per call. Set for TS, TSS, TS_ and TSS_ ops of that list.
  std::optional<c10::TypedOperatorHandle<SigTT>> wrapped_tt;
  std::optional<c10::TypedOperatorHandle<SigTTS>> wrapped_tts;
  std::optional<c10::TypedOperatorHandle<SigTT_>> wrapped_tt_;
  std::optional<c10::TypedOperatorHandle<SigTTS_>> wrapped_tts_;
};

// Picks an unboxed signature when the schema is exactly one of the fast ones (one plain Tensor return).
void choose_fast(OpEntry& e);

Kind kind_of(const c10::TypePtr& t);

// int_division.cc: LibTorch traps (SIGFPE) on INT_MIN / -1 with rounding_mode "trunc", and wraps to INT_MIN
// with "floor" and floor_divide. Ops that can do either are marked when looked up (and leave the fast path);
// a call that would divide INT_MIN by -1 in int32 or int64 is refused with a message.
void mark_int_division(OpEntry& e);
void refuse_int_division_overflow(const OpEntry& op, const std::vector<c10::IValue>& stack);

}  // namespace torchts
