// Each vitest fork gets one LibTorch thread: two forks on two cores, instead of OpenMP teams that
// oversubscribe the machine and spin against each other.
import { setNumThreads } from "../lib/tensor/index.js";

setNumThreads(1);
