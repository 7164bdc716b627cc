// Reading an op's schema: the Kind of each argument type, and the choice of an unboxed signature.
#include "schema.h"

namespace torchts {

// The Scalar overloads that ATen implements as its Tensor overload on `wrapped_scalar_tensor(other)`
// (BinaryOps.cpp), with that overload's name. ATen makes the wrapped scalar in the scalar's own type
// (int64 or double) and TensorIterator then casts it to the common dtype with a full `to` op; made
// directly in self's dtype where that is the common dtype, the result is the same and the cast is gone.
static const std::pair<const char*, const char*> scalar_as_tensor[] = {
    {"aten::add.Scalar", "add.Tensor"},   {"aten::sub.Scalar", "sub.Tensor"},   {"aten::mul.Scalar", "mul.Tensor"},
    {"aten::div.Scalar", "div.Tensor"},   {"aten::add_.Scalar", "add_.Tensor"}, {"aten::sub_.Scalar", "sub_.Tensor"},
    {"aten::mul_.Scalar", "mul_.Tensor"}, {"aten::div_.Scalar", "div_.Tensor"},
};

static std::optional<c10::OperatorHandle> wrapped_overload(const std::string& name) {
  for (const auto& [scalar, tensor] : scalar_as_tensor)
    if (name == scalar) {
      std::string t = tensor;
      auto dot = t.find('.');
      return c10::Dispatcher::singleton().findSchema({"aten::" + t.substr(0, dot), t.substr(dot + 1)});
    }
  return std::nullopt;
}

void choose_fast(OpEntry& e) {
  const auto& rs = e.handle.schema().returns();
  if (rs.size() != 1 || rs[0].type()->kind() != c10::TypeKind::TensorType) return;
  // In place: the one return is `self` (argument 0) written to.
  bool in_place = e.return_alias_arg[0] == 0;
  if (e.return_alias_arg[0] >= 0 && !in_place) return;
  std::string sig;
  for (const auto& a : e.args) {
    if (a.kind == Kind::Tensor) sig += a.optional ? 't' : 'T';
    else if (a.kind == Kind::ScalarType && a.optional) sig += 'd';
    else if (a.optional) return;
    else if (a.kind == Kind::Scalar) sig += 'S';
    else if (a.kind == Kind::IntList) sig += 'L';
    else if (a.kind == Kind::Int) sig += 'i';
    else return;
  }
  try {
    // With a Tensor overload to call on a wrapped scalar (TS -> TT, TSS -> TTS).
    auto wrapped = wrapped_overload(e.name);
    if (in_place) {
      if (sig == "TT") { e.tt_ = e.handle.typed<SigTT_>(); e.fast = Fast::TT_; }
      else if (sig == "TS") { e.ts_ = e.handle.typed<SigTS_>(); e.fast = Fast::TS_; if (wrapped) e.wrapped_tt_ = wrapped->typed<SigTT_>(); }
      else if (sig == "TSS") { e.tss_ = e.handle.typed<SigTSS_>(); e.fast = Fast::TSS_; if (wrapped) e.wrapped_tts_ = wrapped->typed<SigTTS_>(); }
      else if (sig == "TTS") { e.tts_ = e.handle.typed<SigTTS_>(); e.fast = Fast::TTS_; }
      return;
    }
    if (sig == "T") { e.t = e.handle.typed<SigT>(); e.fast = Fast::T; }
    else if (sig == "TT") { e.tt = e.handle.typed<SigTT>(); e.fast = Fast::TT; }
    else if (sig == "TS") { e.ts = e.handle.typed<SigTS>(); e.fast = Fast::TS; if (wrapped) e.wrapped_tt = wrapped->typed<SigTT>(); }
    else if (sig == "TSS") { e.tss = e.handle.typed<SigTSS>(); e.fast = Fast::TSS; if (wrapped) e.wrapped_tts = wrapped->typed<SigTTS>(); }
    else if (sig == "TTS") { e.tts = e.handle.typed<SigTTS>(); e.fast = Fast::TTS; }
    else if (sig == "Td") { e.td = e.handle.typed<SigTd>(); e.fast = Fast::Td; }
    else if (sig == "TTtLLLi") { e.conv = e.handle.typed<SigConv>(); e.fast = Fast::Conv; }
  } catch (const std::exception&) {
    e.fast = Fast::None;  // the C++ signature did not match after all: the boxed call still works
  }
}

Kind kind_of(const c10::TypePtr& t) {
  using K = c10::TypeKind;
  switch (t->kind()) {
    case K::TensorType: return Kind::Tensor;
    case K::IntType: case K::SymIntType: return Kind::Int;
    case K::FloatType: return Kind::Float;
    case K::BoolType: return Kind::Bool;
    case K::NumberType: return Kind::Scalar;
    case K::StringType: return Kind::Str;
    case K::ScalarTypeType: return Kind::ScalarType;
    case K::DeviceObjType: return Kind::Device;
    case K::MemoryFormatType: return Kind::MemoryFormat;
    case K::LayoutType: return Kind::Layout;
    case K::GeneratorType: return Kind::Generator;
    case K::ListType: {
      auto elem = t->castRaw<c10::ListType>()->getElementType();
      switch (elem->kind()) {
        case K::IntType: case K::SymIntType: return Kind::IntList;
        case K::FloatType: return Kind::FloatList;
        case K::BoolType: return Kind::BoolList;
        case K::TensorType: return Kind::TensorList;
        case K::OptionalType: return Kind::OptTensorList;
        default: return Kind::Unsupported;
      }
    }
    default: return Kind::Unsupported;
  }
}

}  // namespace torchts
