// torchts native layer: tensor handles, one generic op entry point (LibTorch's dispatcher, by schema),
// autograd, devices, dtypes, errors and memory accounting. Everything else lives in TypeScript.
// This file registers the JS methods; torch_addon.h says which file holds each job.
#include "torch_addon.h"

namespace torchts {

Torch::Torch(Napi::Env env, Napi::Object exports) {
  DefineAddon(exports, {
      InstanceMethod("op", &Torch::Op),
      InstanceMethod("opSchema", &Torch::OpSchema),
      InstanceMethod("call", &Torch::Call),
      InstanceMethod("callAsync", &Torch::CallAsync),
      InstanceMethod("free", &Torch::Free),
      InstanceMethod("shape", &Torch::Shape),
      InstanceMethod("dtype", &Torch::DType),
      InstanceMethod("device", &Torch::DeviceOf),
      InstanceMethod("requiresGrad", &Torch::RequiresGrad),
      InstanceMethod("fromBuffer", &Torch::FromBuffer),
      InstanceMethod("toBuffer", &Torch::ToBuffer),
      InstanceMethod("item", &Torch::Item),
      InstanceMethod("backward", &Torch::Backward),
      InstanceMethod("grad", &Torch::Grad),
      InstanceMethod("setGrad", &Torch::SetGrad),
      InstanceMethod("autogradGrad", &Torch::AutogradGrad),
      InstanceMethod("setGradEnabled", &Torch::SetGradEnabled),
      InstanceMethod("isGradEnabled", &Torch::IsGradEnabled),
      InstanceMethod("manualSeed", &Torch::ManualSeed),
      InstanceMethod("getRngState", &Torch::GetRngState),
      InstanceMethod("setRngState", &Torch::SetRngState),
      InstanceMethod("setNumThreads", &Torch::SetNumThreads),
      InstanceMethod("getNumThreads", &Torch::GetNumThreads),
      InstanceMethod("cudaDeviceCount", &Torch::CudaDeviceCount),
      InstanceMethod("mallocOptions", &Torch::MallocOptions),
      InstanceMethod("stats", &Torch::Stats),
      InstanceMethod("version", &Torch::Version),
      InstanceMethod("distBackends", &Torch::DistBackends),
      InstanceMethod("distInit", &Torch::DistInit),
  });
}

Torch::~Torch() { handles_.clear(); }

}  // namespace torchts

using torchts::Torch;
NODE_API_ADDON(Torch)
