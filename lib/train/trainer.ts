// The training loop for any density model: steps, learning-rate schedule, gradient clipping,
// evaluation every N steps on named splits, metrics.jsonl, atomic checkpoints, exact resume, and a clear
// stop when the loss stops being finite.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../tensor/index.js";
import { BatchLoader, type ImageDataset, type LoaderState } from "../data/index.js";
import { type DensityModel, dimsOf } from "../models/density.js";
import { evaluate, batchTensor, type TrainModeSwitch } from "./evaluate.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { MetricsLog } from "./metrics.js";
import { Progress } from "./progress.js";
import { clipGradNormLazy_ } from "../optim/clip.js";

/** What the loop needs of a model: the density model and PyTorch-like module methods. */
export interface TrainableModel extends DensityModel, TrainModeSwitch {
  parameters(): torch.Tensor[];
  stateDict(): Record<string, torch.Tensor>;
  loadStateDict(d: Record<string, torch.Tensor>): void;
}

/** What the loop needs of an optimizer. */
export interface TrainableOptimizer {
  lr: number;
  step(): void;
  zeroGrad(): void;
  stateDict(): { tensors: Record<string, torch.Tensor>; meta: unknown };
  loadStateDict(s: { tensors: Record<string, torch.Tensor>; meta: unknown }): void;
}

export interface TrainLoopConfig {
  steps: number;
  batchSize: number;
  /** Learning rate at a step (1-based). */
  lrAt: (step: number) => number;
  /** Clip the global gradient norm to this (0: no clipping, the norm is still measured). */
  clipNorm: number;
  seed: number;
  logEvery: number;
  evalEvery: number;
  /** Images scored per split at each evaluation. */
  evalLimit: number;
  checkpointEvery: number;
}

export interface TrainRun {
  model: TrainableModel;
  optimizer: TrainableOptimizer;
  train: ImageDataset;
  evalSplits?: Record<string, ImageDataset>;
  outDir: string;
  config: TrainLoopConfig;
  device?: torch.Device;
  resume?: boolean;
  progress?: Progress;
  /** Stop after this step even if config.steps is larger (tests: interrupt a run). */
  stopAfter?: number;
}

export interface TrainSummary {
  steps: number;
  finalLoss: number;
  seconds: number;
  resumedFrom: number;
}

export class NonFiniteLossError extends Error {
  constructor(readonly step: number, readonly term: string, readonly checkpoint: string | null) {
    super(`training stopped: the loss became ${term} at step ${step}` +
      (checkpoint ? `; the last good checkpoint is kept at ${checkpoint}` : "; no checkpoint was written yet") +
      ". Lower --lr, or add gradient clipping.");
    this.name = "NonFiniteLossError";
  }
}

/** Says which term of the objective went bad, for the error message. */
function badTerm(r: { logPx: torch.Tensor; logPz?: torch.Tensor; logDet?: torch.Tensor }): string {
  const bad = (t?: torch.Tensor) => t !== undefined && !t.isfinite().all().item();
  const parts = [bad(r.logPz) && "log p(z)", bad(r.logDet) && "log-det"].filter(Boolean);
  return parts.length ? `non-finite (in ${parts.join(" and ")})` : "non-finite";
}

export async function trainLoop(run: TrainRun): Promise<TrainSummary> {
  const { model, optimizer, config: c, outDir } = run;
  const device = run.device ?? "cpu";
  const progress = run.progress ?? new Progress();
  mkdirSync(outDir, { recursive: true });
  const ckptPath = join(outDir, "checkpoint.safetensors");
  const metrics = new MetricsLog(join(outDir, "metrics.jsonl"));
  const dims = dimsOf(model.imageShape);
  const params = model.parameters();

  // Each batch is copied into a tensor at once, so two reused buffers serve the whole run.
  const loader = new BatchLoader(run.train, { batchSize: c.batchSize, shuffle: true, seed: c.seed, dropLast: true, reuseBuffers: true });
  let start = 0;
  let wallBefore = 0;
  if (run.resume && existsSync(ckptPath)) {
    const ck = loadCheckpoint(ckptPath);
    model.loadStateDict(ck.model);
    optimizer.loadStateDict({ tensors: ck.optimizer, meta: ck.state.optimizer });
    loader.restore(ck.state.loader as LoaderState);
    if (ck.rng) torch.setRngState(ck.rng);
    torch.dispose([ck.model, ck.optimizer, ck.rng]);
    start = ck.step;
    wallBefore = Number(ck.state.wallTime ?? 0);
    metrics.truncateAfter(start);
    progress.line(`resumed from ${ckptPath} at step ${start}`);
  } else {
    metrics.truncateAfter(-1);
  }

  const save = (step: number, wall: number) => {
    const opt = optimizer.stateDict();
    saveCheckpoint(ckptPath, {
      step, model: model.stateDict(), optimizer: opt.tensors,
      state: { optimizer: opt.meta, loader: loader.state(), wallTime: wall },
    });
  };

  const t0 = performance.now();
  const wall = () => wallBefore + (performance.now() - t0) / 1000;
  // Reading the loss back is free on the CPU (it is computed synchronously); on a GPU it would stall the
  // queue, so there the loss is read only when it is logged.
  const readEvery = device === "cpu" ? 1 : c.logEvery;
  let lastLoss = NaN, lastGradNorm = NaN, windowStart = performance.now(), windowImages = 0;
  let savedAny = existsSync(ckptPath);
  const last = Math.min(c.steps, run.stopAfter ?? c.steps);
  model.train(true);

  for (let step = start + 1; step <= last; step++) {
    const batch = loader.next();
    optimizer.lr = c.lrAt(step);
    const readNow = step % readEvery === 0 || step % c.logEvery === 0 || step === last;
    torch.tidy(() => {
      const x = batchTensor(batch.x, batch.shape, device);
      const r = model.objective(x);
      const loss = r.logPx.mean().mul(-1 / (dims * Math.LN2));
      optimizer.zeroGrad();
      loss.backward();
      if (readNow) {
        lastLoss = loss.item();
        if (!Number.isFinite(lastLoss)) throw new NonFiniteLossError(step, badTerm(r), savedAny ? ckptPath : null);
      }
      const norm = clipGradNormLazy_(params, c.clipNorm > 0 ? c.clipNorm : Infinity);
      if (readNow) lastGradNorm = norm ? norm.item() : 0;
      optimizer.step();
    });
    windowImages += batch.shape[0];
    if (step % c.logEvery === 0 || step === c.steps) {
      const now = performance.now();
      const imagesPerSec = (windowImages * 1000) / Math.max(now - windowStart, 1e-6);
      windowStart = now;
      windowImages = 0;
      metrics.append({ step, loss: lastLoss, lr: optimizer.lr, gradNorm: lastGradNorm, imagesPerSec, wallTime: wall() });
      progress.update({ step, total: c.steps, loss: lastLoss, imagesPerSec, elapsed: wall() });
    }
    if (run.evalSplits && c.evalEvery > 0 && (step % c.evalEvery === 0 || step === c.steps)) {
      const evalResults: Record<string, number> = {};
      for (const [name, ds] of Object.entries(run.evalSplits)) {
        evalResults[name] = evaluate(model, ds, { limit: c.evalLimit, device }).mean.bitsPerDim;
      }
      metrics.append({ step, eval: evalResults, wallTime: wall() });
      progress.line(`step ${step}: ` + Object.entries(evalResults).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(", ") + " bits/dim");
    }
    if ((c.checkpointEvery > 0 && step % c.checkpointEvery === 0) || step === last) {
      save(step, wall());
      savedAny = true;
    }
    // Lets the loader build the next batch while nothing else waits (and keeps the process responsive).
    if (step % 8 === 0) await new Promise((r) => setImmediate(r));
  }
  loader.dispose();
  return { steps: last, finalLoss: lastLoss, seconds: wall(), resumedFrom: start };
}
