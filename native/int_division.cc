// Integer division that overflows: INT_MIN / -1 has no int32 (int64) result. LibTorch's "trunc" kernel
// executes it and the CPU traps (SIGFPE kills the process; Python dies the same way); "floor" and
// floor_divide return INT_MIN. remainder and fmod give 0, the right answer, and are left alone.
#include <ATen/ops/any.h>
#include <ATen/ops/eq.h>
#include <ATen/ops/logical_and.h>
#include <ATen/ops/result_type.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "schema.h"

namespace torchts {

void mark_int_division(OpEntry& e) {
  const auto& name = e.handle.schema().name();  // "aten::div_" for every overload
  bool floor_div = name == "aten::floor_divide" || name == "aten::floor_divide_";
  bool div = name == "aten::div" || name == "aten::div_" || name == "aten::divide" || name == "aten::divide_";
  if (!floor_div && !div) return;
  for (size_t i = 0; i < e.args.size(); i++)
    if (e.args[i].name == "rounding_mode") e.rounding_mode_arg = static_cast<int>(i);
  if (div && e.rounding_mode_arg < 0) return;  // true division: a float result
  if (e.args.size() < 2 || e.args[0].kind != Kind::Tensor) return;
  e.int_division = true;
  e.fast = Fast::None;  // the check lives on the boxed path (build_stack)
}

void refuse_int_division_overflow(const OpEntry& op, const std::vector<c10::IValue>& stack) {
  if (op.rounding_mode_arg >= 0 && stack[op.rounding_mode_arg].isNone()) return;
  const at::Tensor& self = stack[0].toTensor();
  const c10::IValue& other = stack[1];
  if (!other.isTensor() && !other.isScalar()) return;
  // The dtype the kernel divides in: an int32 INT_MIN divided by an int64 -1 fits.
  at::ScalarType dt = other.isTensor() ? at::result_type(self, other.toTensor()) : at::result_type(self, other.toScalar());
  if (dt != at::kInt && dt != at::kLong) return;
  int64_t min = dt == at::kInt ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
  bool overflows;
  if (other.isTensor()) {
    const at::Tensor& o = other.toTensor();
    if (!c10::isIntegralType(o.scalar_type(), false)) return;
    overflows = at::logical_and(at::eq(self, min), at::eq(o, -1)).any().item<bool>();
  } else {
    const at::Scalar s = other.toScalar();
    overflows = s.isIntegral(false) && s.toLong() == -1 && at::eq(self, min).any().item<bool>();
  }
  if (!overflows) return;
  std::string type = dt == at::kInt ? "int32" : "int64";
  throw std::domain_error(op.name + ": integer division overflows: " + std::to_string(min) + " / -1 = " +
                          std::to_string(0 - static_cast<uint64_t>(min)) +
                          " does not fit in " + type + " (LibTorch would crash or wrap it to " + std::to_string(min) +
                          "). Divide in a wider or floating dtype (e.g. .to(\"float64\")), or leave that value out.");
}

}  // namespace torchts
