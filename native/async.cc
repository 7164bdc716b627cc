// callAsync: an op run on the libuv thread pool, its promise resolved with the same results as call().
#include <c10/core/GradMode.h>

#include "torch_addon.h"

namespace torchts {

// callAsync(opId, ...args): the same, run on the libuv thread pool; resolves with the same results.
class Torch::OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, Torch* owner, const OpEntry* op, torch::jit::Stack stack)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner), op_(op),
        stack_(std::move(stack)), grad_(c10::GradMode::is_enabled()) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      c10::AutoGradMode mode(grad_);  // grad mode is thread-local: carry the caller's
      op_->handle.callBoxed(stack_);
    } catch (const c10::Error& e) {
      SetError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      if (stack_.size() == 1) {
        deferred_.Resolve(owner_->from_ivalue(env, stack_[0]));
      } else {
        auto arr = Napi::Array::New(env, stack_.size());
        for (size_t r = 0; r < stack_.size(); r++) arr.Set(r, owner_->from_ivalue(env, stack_[r]));
        deferred_.Resolve(arr);
      }
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Torch* owner_;
  const OpEntry* op_;
  torch::jit::Stack stack_;
  bool grad_;
};

Napi::Value Torch::CallAsync(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    const OpEntry& op = op_at(info[0]);
    for (int a : op.return_alias_arg)
      if (a >= 0) throw Napi::Error::New(info.Env(), op.name + ": in-place ops cannot run asynchronously");
    torch::jit::Stack stack;
    build_stack(info, 1, op, stack);
    auto* w = new OpWorker(info.Env(), this, &op, std::move(stack));
    auto p = w->promise();
    w->Queue();
    return p;
  });
}

}  // namespace torchts
