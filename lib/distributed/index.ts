// Multi-process data-parallel training over PyTorch's c10d: process groups (Gloo on CPU, NCCL on CUDA),
// the DistributedDataParallel-style step the trainer takes, and the launcher of local workers.
export {
  init,
  backends,
  ProcessGroup,
  DistributedError,
  DEFAULT_TIMEOUT_MS,
  type InitOptions,
  type Backend,
  type ReduceOp,
  type DistributedFault,
} from "./process-group.js";
export { DataParallel, needsDataInit, type DataParallelStep, type DataParallelOptions, type BatchView } from "./data-parallel.js";
export { distEnvFrom, distEnvVars, isLoopback, DEFAULT_MASTER_PORT, type DistEnv } from "./env.js";
