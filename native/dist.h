// Distributed training over PyTorch's c10d (dist.cc, dist_nccl.cc): what the two files share.
#pragma once

#include <chrono>
#include <string>

// c10d's headers declare the Gloo and NCCL process groups only under these defines; CMakeLists.txt sets
// TORCHTS_DIST_GLOO (with USE_C10D_GLOO) where gloo's headers were found, TORCHTS_DIST_NCCL (with
// USE_C10D_NCCL, for dist_nccl.cc alone) where this LibTorch has NCCL and its headers compile.
#if defined(TORCHTS_DIST_GLOO) || defined(TORCHTS_DIST_NCCL_LINKED)
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#endif

namespace torchts::dist {

#if defined(TORCHTS_DIST_NCCL_LINKED)
// An NCCL process group on CUDA device `device`, its communicator made at once (a one-element allreduce,
// waited for), so that no later collective blocks the JS thread on the rendezvous. Blocking: call it off
// the JS thread.
c10::intrusive_ptr<c10d::Backend> make_nccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                            std::chrono::milliseconds timeout, int device);
#endif

}  // namespace torchts::dist
