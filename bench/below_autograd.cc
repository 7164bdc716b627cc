// What autograd's dispatch layer costs an op whose inputs autograd has no record of: LibTorch alone, no
// binding, each case called plainly, below the autograd and ADInplaceOrView keys (what native/dispatch.cc
// below_autograd_if_untracked does), and under no-grad (which still passes through the layer). One thread,
// best of 5 runs of 200,000 calls, printed 3 times.
//
//   T=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
//   g++ -O2 -std=c++20 -D_GLIBCXX_USE_CXX11_ABI=1 bench/below_autograd.cc -I$T/include \
//     -I$T/include/torch/csrc/api/include -L$T/lib -ltorch -ltorch_cpu -lc10 -Wl,-rpath,$T/lib -o /tmp/below_autograd
//   /tmp/below_autograd
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/LegacyTypeDispatch.h>
#include <torch/csrc/autograd/generated/variable_factories.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

template <class F>
double time_us(F f, int n = 200000) {
  for (int i = 0; i < 2000; i++) f();
  double best = 1e9;
  for (int r = 0; r < 5; r++) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; i++) f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / n * 1e6);
  }
  return best;
}

int main() {
  at::set_num_threads(1);
  auto x = torch::ones({4}), y = torch::ones({4});
  auto img = torch::randn({1, 1, 8, 8}), ker = torch::randn({1, 1, 3, 3});
  auto a = torch::randn({8, 8}), b = torch::randn({8, 8});
  struct Case {
    const char* name;
    std::function<void()> f;
  };
  // The shapes of bench/ops.ts.
  Case cases[] = {
      {"add", [&] { auto r = at::add(x, y); }},
      {"sum_item", [&] { (void)x.sum().item<float>(); }},
      {"matmul_8x8", [&] { auto r = a.matmul(b); }},
      {"conv2d_8x8", [&] { auto r = at::conv2d(img, ker, {}, 1, 1); }},
  };
  for (int rep = 0; rep < 3; rep++)
    for (auto& c : cases) {
      double plain = time_us(c.f);
      double below = time_us([&] {
        at::AutoDispatchBelowADInplaceOrView g;
        c.f();
      });
      double nograd = time_us([&] {
        at::NoGradGuard g;
        c.f();
      });
      std::printf("%-12s plain %.3f  below autograd %.3f  no-grad %.3f us\n", c.name, plain, below, nograd);
    }
}
