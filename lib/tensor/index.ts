// The tensor library: `import * as torch from "torchts-ood/tensor"` reads like PyTorch.
export { Tensor, tidy, dispose, memory, tensorOp, tensorsOp, valueOp, type NestedArray } from "./tensor.js";
export * from "./creation.js";
export * from "./functional.js";
export * as linalg from "./linalg.js";
export * as autograd from "./autograd.js";
export { noGrad, enableGrad, isGradEnabled } from "./autograd.js";
export { saveSafetensors, loadSafetensors, type Metadata } from "./safetensors.js";
export { allocatorPolicy, type AllocatorPolicy } from "./allocator.js";
export { manualSeed, getRngState, setRngState, setNumThreads, getNumThreads, libtorchVersion, callAsync } from "./runtime.js";
export { type DType, isFloating } from "./dtype.js";
export { type Device, cuda, defaultDevice, parseDevice } from "./device.js";
