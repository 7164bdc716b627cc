// The Glow training step of ../shared/bench/glow_small.json, built by the project's own Glow from that
// spec and run by the trainer's own step (lib/train/step.ts): forward, backward, gradient clipping,
// RMSprop update, read the loss. glow_reference.py times the same step without the clipping.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as torch from "../lib/tensor/index.js";
import { Glow, type GlowConfig } from "../lib/models/glow/glow.js";
import { RMSprop } from "../lib/optim/index.js";
import { presetFor } from "../lib/models/registry.js";
import { trainStep, type StepPhases } from "../lib/train/step.js";
import { evaluate } from "../lib/train/evaluate.js";
import { uniformImages } from "../lib/data/index.js";
import { requireBenchDir } from "./reference.js";

export interface GlowSpec {
  channels: number;
  size: number;
  levels: number;
  steps: number;
  hidden: number;
  coupling: string;
  batch: number;
  lr: number;
  /** Gradient clipping; absent: the `cpu` Glow preset's, whose architecture glow_small.json is. */
  clipNorm?: number;
}

export function glowFromSpec(spec: GlowSpec): Glow {
  const cfg: GlowConfig = {
    kind: spec.coupling === "additive" ? "cv-glow" : "glow",
    imageShape: [spec.channels, spec.size, spec.size],
    levels: spec.levels,
    steps: spec.steps,
    hidden: spec.hidden,
    coupling: spec.coupling === "additive" ? "additive" : "affine",
    scale: "sigmoid",
    net: "conv",
    actnorm: false,
    lu: false,
    learnedPrior: false,
  };
  return new Glow(cfg);
}

export interface GlowStepResult {
  params: number;
  /** The gradient clipping the step ran with (the `cpu` preset's unless the spec says). */
  clip_norm: number;
  step_ms_median: number;
  step_ms_min: number;
  bpd_last: number;
  /** Medians of the step's parts: forward (making the batch, the loss), backward (zeroGrad, reading the loss), update (clipping, RMSprop). */
  phases_ms: { forward: number; backward: number; update: number };
}

export function timeGlowStep(specPath: string, o: { steps?: number; warmup?: number; device?: torch.Device } = {}): GlowStepResult {
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as GlowSpec;
  const device = o.device ?? "cpu";
  torch.manualSeed(0);
  const model = glowFromSpec(spec);
  if (device !== "cpu") model.to(device);
  const weights = model.parameters();
  const opt = new RMSprop(weights, { lr: spec.lr });
  const clipNorm = spec.clipNorm ?? presetFor("glow", "cpu", [spec.channels, spec.size, spec.size]).train.clipNorm;
  const shape = [spec.batch, spec.channels, spec.size, spec.size];
  const pixels = torch.randint(0, 256, shape, { device }).float().keep();
  const times: number[] = [],
    fwd: number[] = [],
    bwd: number[] = [],
    upd: number[] = [];
  let bpd = NaN;
  const warmup = o.warmup ?? 3,
    steps = o.steps ?? 20;
  const phases: StepPhases = { forward: 0, backward: 0, update: 0 };
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    let t1 = 0;
    torch.tidy(() => {
      const x = pixels.div(256).add(torch.rand(shape, { device }).div(256));
      t1 = performance.now();
      // read every step, as the reference does: on a GPU that is what makes the step's time its own
      bpd = trainStep(model, opt, x, { clipNorm, params: weights, read: true, phases }).loss;
    });
    const t3 = performance.now();
    // making the batch counts as forward, as in the reference
    if (i >= warmup) {
      times.push(t3 - t0);
      fwd.push(t1 - t0 + phases.forward);
      bwd.push(phases.backward);
      upd.push(phases.update);
    }
  }
  const params = model.numParameters();
  model.dispose();
  opt.dispose();
  pixels.dispose();
  return {
    params,
    clip_norm: clipNorm,
    step_ms_median: median(times),
    step_ms_min: round(Math.min(...times)),
    bpd_last: round(bpd, 4),
    phases_ms: { forward: median(fwd), backward: median(bwd), update: median(upd) },
  };
}

export interface GlowEvalResult {
  params: number;
  eval_batch: number;
  eval_ms_median: number;
  eval_images_per_s: number;
  bpd_first: number;
}

/**
 * Scoring as `eval`/`ood` do it: the project's `evaluate` (no autograd, bin centres, per-example log p(x)
 * read back) over one batch of `batch` uniform random images, timed per batch. glow_reference.py --eval
 * times the same (inference mode, the batch read back as a list).
 */
export function timeGlowEval(specPath: string, o: { batch?: number; steps?: number; warmup?: number } = {}): GlowEvalResult {
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as GlowSpec;
  const batch = o.batch ?? 256;
  torch.manualSeed(0);
  const model = glowFromSpec(spec);
  const data = uniformImages({ n: batch, channels: spec.channels, height: spec.size, width: spec.size, seed: 0 });
  const times: number[] = [];
  let bpd = NaN;
  const warmup = o.warmup ?? 3,
    steps = o.steps ?? 20;
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const r = evaluate(model, data, { batchSize: batch, dequantize: false });
    const dt = performance.now() - t0;
    bpd = r.bitsPerDim[0]!;
    if (i >= warmup) times.push(dt);
  }
  const params = model.numParameters();
  model.dispose();
  const ms = median(times);
  return { params, eval_batch: batch, eval_ms_median: ms, eval_images_per_s: Math.round((batch * 1000 * 10) / ms) / 10, bpd_first: round(bpd, 4) };
}

const median = (v: number[]) => round([...v].sort((a, b) => a - b)[v.length >> 1]!);

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

// `node dist/bench/glow.js [--threads N] [--steps N]`: this step alone, one JSON line (for profilers).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes("--help")) {
    console.log(
      "node dist/bench/glow.js [--threads N] [--steps N] [--warmup N] [--eval [--eval-batch N]]\n" +
        "  times the glow-small training step (../shared/bench/glow_small.json) as the trainer runs it; one JSON line:\n" +
        "  median and min step ms, the last loss (bits/dim) and the forward/backward/update medians.\n" +
        "  --threads  LibTorch threads (default 1)   --steps  timed steps (default 20)   --warmup  untimed steps first (default 3)\n" +
        "  --eval     time scoring instead (the project's evaluate at bin centres, like glow_reference.py --eval):\n" +
        "             eval_ms_median per batch and eval_images_per_s   --eval-batch  images per batch (default 256)",
    );
    process.exit(0);
  }
  const arg = (name: string, def: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  torch.setNumThreads(arg("--threads", 1));
  const spec = join(requireBenchDir(), "glow_small.json");
  const o = { steps: arg("--steps", 20), warmup: arg("--warmup", 3) };
  console.log(
    JSON.stringify({
      impl: "torchts-ood",
      torch: torch.libtorchVersion(),
      threads: torch.getNumThreads(),
      allocator: torch.allocatorPolicy(),
      ...(process.argv.includes("--eval") ? timeGlowEval(spec, { ...o, batch: arg("--eval-batch", 256) }) : timeGlowStep(spec, o)),
    }),
  );
}
