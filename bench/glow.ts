// The Glow training step of ../shared/bench/glow_small.json, built by the project's own Glow from that
// spec: forward, backward, RMSprop update, read the loss -- the same step glow_reference.py times.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as torch from "../lib/tensor/index.js";
import { Glow, type GlowConfig } from "../lib/models/glow/glow.js";
import { RMSprop } from "../lib/optim/index.js";
import { requireBenchDir } from "./reference.js";

export interface GlowSpec {
  channels: number; size: number; levels: number; steps: number; hidden: number; coupling: string; batch: number; lr: number;
}

export function glowFromSpec(spec: GlowSpec): Glow {
  const cfg: GlowConfig = {
    kind: spec.coupling === "additive" ? "cv-glow" : "glow", imageShape: [spec.channels, spec.size, spec.size],
    levels: spec.levels, steps: spec.steps, hidden: spec.hidden, coupling: spec.coupling === "additive" ? "additive" : "affine",
    scale: "sigmoid", net: "conv", actnorm: false, lu: false, learnedPrior: false,
  };
  return new Glow(cfg);
}

export interface GlowStepResult {
  params: number; step_ms_median: number; step_ms_min: number; bpd_last: number;
  /** Medians of the step's parts: forward (with the loss), backward (with zeroGrad), update and read-back. */
  phases_ms: { forward: number; backward: number; update: number };
}

export function timeGlowStep(specPath: string, o: { steps?: number; warmup?: number; device?: torch.Device } = {}): GlowStepResult {
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as GlowSpec;
  const device = o.device ?? "cpu";
  torch.manualSeed(0);
  const model = glowFromSpec(spec);
  if (device !== "cpu") model.to(device);
  const opt = new RMSprop(model.parameters(), { lr: spec.lr });
  const shape = [spec.batch, spec.channels, spec.size, spec.size];
  const pixels = torch.randint(0, 256, shape, { device }).float().keep();
  const d = spec.channels * spec.size * spec.size;
  const times: number[] = [], fwd: number[] = [], bwd: number[] = [], upd: number[] = [];
  let bpd = NaN;
  const warmup = o.warmup ?? 3, steps = o.steps ?? 20;
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    let t1 = 0, t2 = 0;
    torch.tidy(() => {
      const x = pixels.div(256).add(torch.rand(shape, { device }).div(256));
      const loss = model.objective(x).logPx.mean().mul(-1 / (d * Math.LN2));
      t1 = performance.now();
      opt.zeroGrad();
      loss.backward();
      t2 = performance.now();
      opt.step();
      bpd = loss.item();
    });
    const t3 = performance.now();
    if (i >= warmup) { times.push(t3 - t0); fwd.push(t1 - t0); bwd.push(t2 - t1); upd.push(t3 - t2); }
  }
  const params = model.numParameters();
  model.dispose();
  opt.dispose();
  pixels.dispose();
  return {
    params, step_ms_median: median(times), step_ms_min: round(Math.min(...times)), bpd_last: round(bpd, 4),
    phases_ms: { forward: median(fwd), backward: median(bwd), update: median(upd) },
  };
}

const median = (v: number[]) => round([...v].sort((a, b) => a - b)[v.length >> 1]!);

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

// `node dist/bench/glow.js [--threads N] [--steps N]`: this step alone, one JSON line (for profilers).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string, def: number) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : def; };
  torch.setNumThreads(arg("--threads", 1));
  const spec = join(requireBenchDir(), "glow_small.json");
  console.log(JSON.stringify({ threads: torch.getNumThreads(), allocator: torch.allocatorPolicy(), ...timeGlowStep(spec, { steps: arg("--steps", 20) }) }));
}
