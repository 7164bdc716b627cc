// The NCCL process group, alone in this file: only it is compiled with USE_C10D_NCCL and CUDA's and NCCL's
// headers (CMakeLists.txt), and only where this LibTorch has NCCL and those headers compile.
#include "dist.h"

#ifdef TORCHTS_DIST_NCCL
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <cstdlib>

namespace torchts::dist {

c10::intrusive_ptr<c10d::Backend> make_nccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                            std::chrono::milliseconds timeout, int device) {
  // Blocking wait: a failed or timed-out collective then throws from wait() (a JS error) instead of
  // NCCL's watchdog tearing the process down. The user's own setting wins.
  setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
  c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device));
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = timeout;
  auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
  // The communicator is made by the first collective: make it here, off the JS thread.
  std::vector<at::Tensor> one{at::ones({1}, at::TensorOptions().device(at::kCUDA, device))};
  pg->allreduce(one)->wait();
  return pg;
}

}  // namespace torchts::dist
#endif
