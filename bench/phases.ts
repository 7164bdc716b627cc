// `npm run bench:phases`: where the glow-small step's time goes, ours against the reference's, split into
// forward, backward and update, at one and two threads. The reference runs twice: as is, and under the
// malloc settings this process runs with (lib/tensor/allocator.ts), so the allocator's share and the
// binding's share show apart.
import { join } from "node:path";
import * as torch from "../lib/tensor/index.js";
import { TUNED_MALLOC_ENV } from "../lib/tensor/allocator.js";
import { timeGlowStep } from "./glow.js";
import { requireBenchDir, runReference } from "./reference.js";

const dir = requireBenchDir();
const script = join(import.meta.dirname ?? ".", "..", "..", "bench", "glow_phases.py");
torch.getNumThreads(); // loads the addon, which applies the allocator policy printed below
const fmt = (p: Record<string, number> | undefined) =>
  p ? ["forward", "backward", "update"].map((k) => String(p[k]).padStart(9)).join("") : "   (reference failed)";
console.log(
  `allocator policy here: ${torch.allocatorPolicy()}\n${"".padEnd(34)}${["forward", "backward", "update"].map((k) => k.padStart(9)).join("")}  (ms, medians of 30 steps)`,
);
for (const threads of [1, 2]) {
  torch.setNumThreads(threads);
  const ours = timeGlowStep(join(dir, "glow_small.json"), { steps: 30 });
  const args = [dir, "--threads", String(threads)];
  const asIs = runReference(script, args)?.phases_ms as Record<string, number> | undefined;
  const tuned = runReference(script, args, TUNED_MALLOC_ENV)?.phases_ms as Record<string, number> | undefined;
  console.log(`${threads} thread(s)  torchts-ood`.padEnd(34) + fmt(ours.phases_ms));
  console.log(`            pytorch`.padEnd(34) + fmt(asIs));
  console.log(`            pytorch, same malloc`.padEnd(34) + fmt(tuned));
}
