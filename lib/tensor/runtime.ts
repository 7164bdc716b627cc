// Process-wide settings: the random seed, intra-op threads, the LibTorch version.
import { native } from "./native.js";
import { Tensor, tensorOpAsync } from "./tensor.js";

/** Seeds LibTorch's global generator (CPU and CUDA): the same seed gives the same numbers. */
export const manualSeed = (seed: number): void => native.manualSeed(seed);
/** The CPU generator's state (a uint8 tensor), for checkpoints that resume exactly. */
export const getRngState = (): Tensor => new Tensor(native.getRngState());
export const setRngState = (state: Tensor): void => native.setRngState(state.handle);
export const setNumThreads = (n: number): void => native.setNumThreads(n);
export const getNumThreads = (): number => native.getNumThreads();
export const libtorchVersion = (): string => native.version();

/**
 * Runs one ATen op on the libuv thread pool and resolves with its result, so the event loop stays free
 * (e.g. `callAsync("aten::matmul", a, b)`). The op's inputs must stay alive until it resolves.
 */
export function callAsync(schema: string, ...args: (Tensor | number | boolean | null | number[])[]): Promise<Tensor> {
  return tensorOpAsync(schema)(...args);
}
