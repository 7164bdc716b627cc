// Reading an op's schema: the Kind of each argument type, and the choice of an unboxed signature.
#include "schema.h"

namespace torchts {

void choose_fast(OpEntry& e) {
  const auto& rs = e.handle.schema().returns();
  if (rs.size() != 1 || e.return_alias_arg[0] >= 0 || rs[0].type()->kind() != c10::TypeKind::TensorType) return;
  std::string sig;
  for (const auto& a : e.args) {
    if (a.kind == Kind::Tensor) sig += a.optional ? 't' : 'T';
    else if (a.optional) return;
    else if (a.kind == Kind::Scalar) sig += 'S';
    else if (a.kind == Kind::IntList) sig += 'L';
    else if (a.kind == Kind::Int) sig += 'i';
    else return;
  }
  try {
    if (sig == "T") { e.t = e.handle.typed<SigT>(); e.fast = Fast::T; }
    else if (sig == "TT") { e.tt = e.handle.typed<SigTT>(); e.fast = Fast::TT; }
    else if (sig == "TS") { e.ts = e.handle.typed<SigTS>(); e.fast = Fast::TS; }
    else if (sig == "TTS") { e.tts = e.handle.typed<SigTTS>(); e.fast = Fast::TTS; }
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
