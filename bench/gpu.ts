// `npm run bench:gpu`: the Glow training step of ../shared/bench/glow_gpu.json (CIFAR-sized, 400 hidden
// channels) on CUDA, against glow_reference.py with the same spec on the same GPU. Run it on a lent GPU
// machine (scripts/gpu-check.sh); without a CUDA device it says so and exits 2.
import { join } from "node:path";
import * as torch from "../lib/tensor/index.js";
import { timeGlowStep } from "./glow.js";
import { requireBenchDir, printComparison, runReference } from "./reference.js";

const json = process.argv.includes("--json");
const dir = requireBenchDir();
if (!torch.cuda.isAvailable()) {
  console.error("bench:gpu: this LibTorch sees no CUDA device; run it on a GPU machine (scripts/gpu-check.sh)");
  process.exit(2);
}
const spec = join(dir, "glow_gpu.json");
const ours = timeGlowStep(spec, { device: "cuda", steps: 20, warmup: 5 });
const ref = runReference("glow_reference.py", ["--spec", spec, "--device", "cuda", "--steps", "20", "--warmup", "5"]);
if (ref && ref.params !== ours.params) throw new Error(`parameter count differs from the reference: ${ours.params} vs ${ref.params}`);
if (json) {
  console.log(
    JSON.stringify({
      impl: "torchts-ood",
      torch: torch.libtorchVersion(),
      spec: "glow_gpu.json",
      device: "cuda",
      glow_step_ms: ours.step_ms_median,
      params: ours.params,
    }),
  );
  if (ref) console.log(JSON.stringify({ ...ref, spec: "glow_gpu.json", device: "cuda", glow_step_ms: ref.step_ms_median }));
} else {
  printComparison(
    `glow-gpu training step on CUDA, ms (${ours.params} parameters)`,
    { glow_step_ms: ours.step_ms_median },
    ref ? { glow_step_ms: ref.step_ms_median as number } : null,
  );
}
