// The per-environment handle table: JS holds plain numbers, each naming a slot that holds a tensor; the
// table also counts live tensors and bytes, and tells V8 how much native memory they hold.
#pragma once

#include <ATen/core/Tensor.h>
#include <napi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace torchts {

// Why integer handles: making a JS object per result in C++ (ObjectWrap) cost more than the op itself on
// small tensors. Here a result is a slot in a per-environment table and JS gets back a plain number; the
// TypeScript Tensor class wraps it.
//
// A handle is 1 << 52 | generation << 32 | env tag << 24 | slot (53 bits: exact in a JS number).
// - The marker bit 52 sets every handle apart from the small numbers callers pass by mistake (`a.matmul(5)`):
//   those are "expected a Tensor, got the number 5", not somebody's tensor.
// - Freeing a slot bumps its generation, so a stale handle (used after dispose, or a finalizer running late)
//   never reaches the slot's next tensor.
// - The tag names the environment (main thread or worker) whose table holds the tensor: a number passed to
//   another thread would otherwise read that thread's tensor in the same slot. A tag is reused once its
//   environment has exited, so a new table's generations start where the tag's last table stopped: a handle
//   of an exited worker is stale in the next worker with its tag.
class HandleTable {
 public:
  static constexpr uint64_t kSlotBits = 24, kSlotMask = (1u << kSlotBits) - 1, kTagBits = 8, kTagMask = (1u << kTagBits) - 1,
                            kGenShift = kSlotBits + kTagBits, kGenMask = (1u << 20) - 1, kMarker = 1ull << 52;
  static constexpr int64_t kStale = -1, kForeign = -2, kNotHandle = -3;

  HandleTable();
  ~HandleTable();
  HandleTable(const HandleTable&) = delete;
  HandleTable& operator=(const HandleTable&) = delete;

  double put(at::Tensor t, Napi::Env env);

  // The slot of a live handle; kStale, kForeign (another environment's) or kNotHandle otherwise.
  int64_t slot_of(double handle) const {
    // Doubles from 2^52 up are integers, so the cast is exact; from 2^53 up, bits above the marker are set.
    if (!(handle >= static_cast<double>(kMarker))) return kNotHandle;
    uint64_t h = static_cast<uint64_t>(handle);
    if (h >> 53) return kNotHandle;
    if (((h >> kSlotBits) & kTagMask) != tag_) return kForeign;
    uint64_t slot = h & kSlotMask;
    if (slot >= tensors_.size() || nbytes_[slot] < 0 || gens_[slot] != ((h >> kGenShift) & kGenMask)) return kStale;
    return static_cast<int64_t>(slot);
  }

  static Napi::Error foreign_error(Napi::Env env);

  // The tensor a JS value names. op and arg, when given, start the error message ("aten::mm: argument 'mat2'").
  at::Tensor& get(const Napi::Value& v, const char* op = nullptr, const std::string* arg = nullptr) {
    double h;  // one N-API call: it fails for non-numbers
    int64_t slot = napi_get_value_double(v.Env(), v, &h) == napi_ok ? slot_of(h) : kNotHandle;
    if (slot < 0) throw_bad(v, slot, op, arg);
    return tensors_[slot];
  }

  // The tensor a JS value names, or nullptr where it names none (get() says why).
  at::Tensor* find(napi_env env, napi_value v) {
    double h;
    if (napi_get_value_double(env, v, &h) != napi_ok) return nullptr;
    int64_t slot = slot_of(h);
    return slot < 0 ? nullptr : &tensors_[slot];
  }

  void release(double handle, Napi::Env env);

  void clear() { tensors_.clear(); }
  int64_t live() const { return live_; }
  int64_t bytes() const { return bytes_; }

 private:
  // The lowest tag 1..255 no live environment holds (taken in the constructor, given back in the
  // destructor), so two live environments never share one; beyond 255 at once, tag 0 is shared.
  const uint64_t tag_;
  // The generation new slots start at: where the last table with this tag stopped.
  const uint32_t gen_base_;
  HandleTable(std::pair<uint64_t, uint32_t> tag_and_base);

  [[noreturn]] void throw_bad(const Napi::Value& v, int64_t why, const char* op, const std::string* arg) const;

  void account(Napi::Env env, int64_t delta);

  static constexpr int64_t kExternalStep = 1 << 20;
  std::vector<at::Tensor> tensors_;
  std::vector<int64_t> nbytes_;  // -1 marks a free slot
  std::vector<uint32_t> gens_;
  std::vector<uint32_t> free_slots_;
  int64_t live_ = 0, bytes_ = 0, pending_ = 0;
};

}  // namespace torchts
