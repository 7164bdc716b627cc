// The handle table's bookkeeping: filling and freeing slots, and the native memory V8 is told about.
#include "handles.h"

#include <algorithm>
#include <bitset>
#include <mutex>

namespace torchts {

namespace {
std::mutex tags_mutex;
std::bitset<256> tags_in_use;  // bit 0: the shared overflow tag, never marked
uint32_t next_gen_base[256];   // per tag: the first generation its next table gives out

std::pair<uint64_t, uint32_t> take_tag() {
  std::lock_guard<std::mutex> lock(tags_mutex);
  for (uint64_t t = 1; t <= HandleTable::kTagMask; t++)
    if (!tags_in_use[t]) {
      tags_in_use[t] = true;
      return {t, next_gen_base[t]};
    }
  return {0, 0};
}
}  // namespace

HandleTable::HandleTable() : HandleTable(take_tag()) {}
HandleTable::HandleTable(std::pair<uint64_t, uint32_t> tag_and_base) : tag_(tag_and_base.first), gen_base_(tag_and_base.second) {}

HandleTable::~HandleTable() {
  // Every handle this table gave out has a generation in [gen_base_, gen_base_ + most frees of one slot].
  uint32_t most = 0;
  for (uint32_t g : gens_) most = std::max(most, static_cast<uint32_t>((g - gen_base_) & kGenMask));
  std::lock_guard<std::mutex> lock(tags_mutex);
  if (tag_) {
    if (!gens_.empty()) next_gen_base[tag_] = (gen_base_ + most + 1) & kGenMask;
    tags_in_use[tag_] = false;
  }
}

// Why a value is not a live tensor of this table, as an error (the rare path, kept out of get()).
void HandleTable::throw_bad(const Napi::Value& v, int64_t why, const char* op, const std::string* arg) const {
  Napi::Env env = v.Env();
  if (why == kForeign) throw foreign_error(env);
  if (why == kStale) throw Napi::Error::New(env, "tensor was disposed (or its thread has exited): it cannot be used any more");
  std::string got = v.IsNumber()   ? "the number " + v.ToString().Utf8Value()
                    : v.IsString() ? "the string '" + v.As<Napi::String>().Utf8Value() + "'"
                    : v.IsArray()  ? "an array"
                    : v.IsObject() ? "an object"
                                   : v.ToString().Utf8Value();
  std::string where = op ? std::string(op) + ": " + (arg ? "argument '" + *arg + "': " : "") : "";
  throw Napi::TypeError::New(env, where + "expected a Tensor, got " + got);
}


double HandleTable::put(at::Tensor t, Napi::Env env) {
  int64_t nb = t.defined() ? static_cast<int64_t>(t.numel()) * t.element_size() : 0;
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    tensors_[slot] = std::move(t);
    nbytes_[slot] = nb;
  } else {
    slot = static_cast<uint32_t>(tensors_.size());
    if (slot > kSlotMask) throw Napi::Error::New(env, "more than 16M live tensors: dispose tensors (or use scopes)");
    tensors_.push_back(std::move(t));
    nbytes_.push_back(nb);
    gens_.push_back(gen_base_);
  }
  live_++;
  account(env, nb);
  return static_cast<double>(kMarker | (static_cast<uint64_t>(gens_[slot]) << kGenShift) | (tag_ << kSlotBits) | slot);
}

Napi::Error HandleTable::foreign_error(Napi::Env env) {
  return Napi::Error::New(env, "this tensor belongs to another thread (the main thread or another worker): tensors "
                               "cannot cross threads; send its data (toBuffer()/tolist()) and make a tensor there");
}

void HandleTable::release(double handle, Napi::Env env) {
  int64_t slot = slot_of(handle);
  if (slot == kForeign) throw foreign_error(env);
  if (slot < 0) return;  // disposing twice (or a finalizer after dispose) is harmless
  account(env, -nbytes_[slot]);
  tensors_[slot] = at::Tensor();
  nbytes_[slot] = -1;
  gens_[slot] = (gens_[slot] + 1) & kGenMask;
  free_slots_.push_back(static_cast<uint32_t>(slot));
  live_--;
}

// V8 is told about native bytes in steps, so small ops do not call into the GC heuristics each time.
void HandleTable::account(Napi::Env env, int64_t delta) {
  bytes_ += delta;
  pending_ += delta;
  if (pending_ > kExternalStep || pending_ < -kExternalStep) {
    Napi::MemoryManagement::AdjustExternalMemory(env, pending_);
    pending_ = 0;
  }
}

}  // namespace torchts
