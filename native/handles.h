// The per-environment handle table: JS holds plain numbers, each naming a slot that holds a tensor; the
// table also counts live tensors and bytes, and tells V8 how much native memory they hold.
#pragma once

#include <ATen/core/Tensor.h>
#include <napi.h>

#include <cstdint>
#include <vector>

namespace torchts {

// Why integer handles: making a JS object per result in C++ (ObjectWrap) cost more than the op itself on
// small tensors. Here a result is a slot in a per-environment table and JS gets back a plain number; the
// TypeScript Tensor class wraps it.
//
// A handle is slot | env tag << 24 | generation << 32 (53 bits: exact in a JS number). Freeing a slot bumps
// its generation, so a stale handle (used after dispose, or a finalizer running late) never reaches the
// slot's next tensor. The tag names the environment (main thread or worker) whose table holds the tensor:
// a number passed to another thread would otherwise read that thread's tensor in the same slot.
class HandleTable {
 public:
  static constexpr uint64_t kSlotBits = 24, kSlotMask = (1u << kSlotBits) - 1, kTagBits = 8, kTagMask = (1u << kTagBits) - 1,
                            kGenShift = kSlotBits + kTagBits, kGenMask = (1u << 21) - 1;
  static constexpr int64_t kForeign = -2;

  HandleTable();
  ~HandleTable();
  HandleTable(const HandleTable&) = delete;
  HandleTable& operator=(const HandleTable&) = delete;

  double put(at::Tensor t, Napi::Env env);

  // The slot of a live handle, -1 for a stale one, kForeign for another environment's.
  int64_t slot_of(double handle) const {
    if (!(handle >= 0)) return -1;
    uint64_t h = static_cast<uint64_t>(handle);
    if (((h >> kSlotBits) & kTagMask) != tag_) return kForeign;
    uint64_t slot = h & kSlotMask;
    if (slot >= tensors_.size() || nbytes_[slot] < 0 || gens_[slot] != (h >> kGenShift)) return -1;
    return static_cast<int64_t>(slot);
  }

  static Napi::Error foreign_error(Napi::Env env);

  at::Tensor& get(const Napi::Value& v) {
    double h;  // one N-API call: it fails for non-numbers
    if (napi_get_value_double(v.Env(), v, &h) != napi_ok) throw Napi::TypeError::New(v.Env(), "expected a Tensor");
    int64_t slot = slot_of(h);
    if (slot == kForeign) throw foreign_error(v.Env());
    if (slot < 0) throw Napi::Error::New(v.Env(), "tensor was disposed: it cannot be used any more");
    return tensors_[slot];
  }

  void release(double handle, Napi::Env env);

  void clear() { tensors_.clear(); }
  int64_t live() const { return live_; }
  int64_t bytes() const { return bytes_; }

 private:
  // The lowest tag 1..255 no live environment holds (taken in the constructor, given back in the
  // destructor), so two live environments never share one; beyond 255 at once, tag 0 is shared.
  const uint64_t tag_;

  void account(Napi::Env env, int64_t delta);

  static constexpr int64_t kExternalStep = 1 << 20;
  std::vector<at::Tensor> tensors_;
  std::vector<int64_t> nbytes_;  // -1 marks a free slot
  std::vector<uint32_t> gens_;
  std::vector<uint32_t> free_slots_;
  int64_t live_ = 0, bytes_ = 0, pending_ = 0;
};

}  // namespace torchts
