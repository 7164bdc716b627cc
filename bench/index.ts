// `npm run bench [-- --json] [-- --quick] [-- --memory-steps N]`: speed and memory against Python PyTorch over the same
// LibTorch, measured in one process run on one machine. Small ops (one thread), the glow-small
// training step at one and two threads as the trainer runs it (against glow_reference.py --clip-norm: the
// same clipping and read-back), scoring images/s at batch 256 (against glow_reference.py --eval), and
// memory over a long run. `npm run bench:check` repeats the paired comparisons and checks the goals.
import { join } from "node:path";
import * as torch from "../lib/tensor/index.js";
import { TUNED_MALLOC_ENV } from "../lib/tensor/allocator.js";
import { runOps } from "./ops.js";
import { timeGlowEval, timeGlowStep } from "./glow.js";
import { memoryBench } from "./memory.js";
import { requireBenchDir, printComparison, runReference } from "./reference.js";

const json = process.argv.includes("--json");
const quick = process.argv.includes("--quick");
const log = (m: string) => {
  if (!json) console.log(m);
};
const dir = requireBenchDir();
const spec = join(dir, "glow_small.json");

log(`torchts-ood benchmark: LibTorch ${torch.libtorchVersion()}, ${new Date().toISOString()}`);
const refOps = runReference("ops_reference.py", []);
const ops = runOps();
torch.setNumThreads(1);
const glow1 = timeGlowStep(spec, quick ? { steps: 5, warmup: 1 } : {});
// like with like: the reference clips the gradient norm as our step does and reads it back
const refGlow = (threads: number, env: NodeJS.ProcessEnv = {}) =>
  runReference(
    "glow_reference.py",
    ["--spec", spec, "--threads", String(threads), "--clip-norm", String(glow1.clip_norm), ...(quick ? ["--steps", "5", "--warmup", "1"] : [])],
    env,
  );
const refGlow1 = refGlow(1);
torch.setNumThreads(2);
const glow2 = timeGlowStep(spec, quick ? { steps: 5, warmup: 1 } : {});
const refGlow2 = refGlow(2);
// For the record, not the ratio: the reference again under the malloc settings this process runs with
// (lib/tensor/allocator.ts), so the table separates what the allocator gives from what the binding costs.
const tuned = torch.allocatorPolicy() === "tuned";
const refGlow1Tuned = tuned ? refGlow(1, TUNED_MALLOC_ENV) : null,
  refGlow2Tuned = tuned ? refGlow(2, TUNED_MALLOC_ENV) : null;
// Scoring at one thread: the project's evaluate (bin centres, batch 256) against the reference's --eval.
torch.setNumThreads(1);
const evalOpts = quick ? { batch: 32, steps: 2, warmup: 1 } : { batch: 256, steps: 10, warmup: 3 };
const scoring = timeGlowEval(spec, evalOpts);
const refScoring = runReference("glow_reference.py", [
  "--spec",
  spec,
  "--threads",
  "1",
  "--eval",
  "--eval-batch",
  String(evalOpts.batch),
  "--steps",
  String(evalOpts.steps),
  "--warmup",
  String(evalOpts.warmup),
]);
if (refGlow1 && refGlow1.params !== glow1.params) throw new Error(`parameter count differs from the reference: ${glow1.params} vs ${refGlow1.params}`);
const memorySteps = Number(process.argv[process.argv.indexOf("--memory-steps") + 1]);
if (process.argv.includes("--memory-steps") && !(Number.isInteger(memorySteps) && memorySteps >= 100))
  throw new Error("--memory-steps needs a whole number of training steps, at least 100");
const memory = await memoryBench(quick ? { steps: 200, scoreCalls: 100 } : process.argv.includes("--memory-steps") ? { steps: memorySteps } : {});

const ours = {
  impl: "torchts-ood",
  torch: torch.libtorchVersion(),
  us_per_op: ops,
  glow_step_ms: glow1.step_ms_median,
  glow_step_ms_2threads: glow2.step_ms_median,
  clip_norm: glow1.clip_norm,
  eval_batch: scoring.eval_batch,
  eval_images_per_s: scoring.eval_images_per_s,
  params: glow1.params,
  allocator: torch.allocatorPolicy(),
  memory,
};
const ref =
  refOps && refGlow1
    ? {
        impl: "pytorch-python",
        torch: refOps.torch,
        us_per_op: refOps.us_per_op,
        glow_step_ms: refGlow1.step_ms_median,
        glow_step_ms_2threads: refGlow2?.step_ms_median,
        clip_norm: refGlow1.clip_norm,
        eval_batch: refScoring?.eval_batch,
        eval_images_per_s: refScoring?.eval_images_per_s,
        params: refGlow1.params,
        glow_step_ms_same_malloc: refGlow1Tuned?.step_ms_median,
        glow_step_ms_2threads_same_malloc: refGlow2Tuned?.step_ms_median,
      }
    : null;

if (json) {
  console.log(JSON.stringify(ours));
  if (ref) console.log(JSON.stringify(ref));
} else {
  printComparison("small ops, us per call (1 thread)", ops, (ref?.us_per_op as Record<string, number>) ?? null);
  printComparison(
    `glow-small training step, ms (${glow1.params} parameters; clipping at ${glow1.clip_norm} on both sides)`,
    { glow_step_ms: glow1.step_ms_median, glow_step_ms_2threads: glow2.step_ms_median },
    ref ? { glow_step_ms: ref.glow_step_ms as number, glow_step_ms_2threads: ref.glow_step_ms_2threads as number } : null,
  );
  printComparison(
    `scoring, images/s (batch ${scoring.eval_batch}, bin centres, 1 thread; ratio is ours/Python: higher is better here)`,
    { eval_images_per_s: scoring.eval_images_per_s },
    refScoring ? { eval_images_per_s: refScoring.eval_images_per_s as number } : null,
  );
  if (refGlow1Tuned)
    console.log(
      `reference under this process's malloc settings (${torch.allocatorPolicy()}): ${refGlow1Tuned.step_ms_median} ms (1 thread), ${refGlow2Tuned?.step_ms_median} ms (2 threads)`,
    );
  console.log("memory (cpu Glow preset):", JSON.stringify(memory));
}
