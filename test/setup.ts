// Each vitest fork gets one LibTorch thread: two forks on two cores, instead of OpenMP teams that
// oversubscribe the machine and spin against each other. TORCHTS_TEST_THREADS sets another count
// (scripts/flow-drift.mjs measures how far values move with it).
import { setNumThreads } from "../lib/tensor/index.js";

setNumThreads(Number(process.env.TORCHTS_TEST_THREADS ?? 1));
