// The training loop for any density model: steps, learning-rate schedule, gradient clipping,
// evaluation every N steps on named splits, metrics.jsonl, atomic checkpoints, exact resume, and a clear
// stop when the loss stops being finite.
import { mkdirSync } from "node:fs";
import * as torch from "../tensor/index.js";
import { BatchLoader, type ImageDataset, type LoaderState } from "../data/index.js";
import type { DensityModel } from "../models/density.js";
import { evaluate, batchTensor, type TrainModeSwitch } from "./evaluate.js";
import { loadCheckpoint, nonFiniteTensors, saveCheckpoint, someOf } from "./checkpoint.js";
import type { StepMetrics } from "./metrics.js";
import { RunFolder } from "./run-folder.js";
import { Progress } from "./progress.js";
import { badTerm, trainStep, trainStepAveraged } from "./step.js";
import type { DataParallelStep } from "../distributed/data-parallel.js";

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
  /** A background model's pixel mutation rate (0 or absent: the images as they are). */
  mutationRate?: number;
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
  /** Data-parallel training over several processes (lib/distributed): only the main rank writes to outDir. */
  parallel?: DataParallelStep;
}

export interface TrainSummary {
  steps: number;
  finalLoss: number;
  seconds: number;
  resumedFrom: number;
}

/** The checkpoint a failed run leaves behind, for the error messages. */
export interface KeptCheckpoint {
  path: string;
  step: number;
}

const keptText = (kept: KeptCheckpoint | null) =>
  kept ? `; the last good checkpoint is kept at ${kept.path} (step ${kept.step})` : "; no checkpoint was written yet";
const remedy = (kept: KeptCheckpoint | null) => `. Lower --lr${kept ? " (with --resume it continues from that checkpoint)" : ""}, or add gradient clipping.`;

export class NonFiniteLossError extends Error {
  readonly checkpoint: string | null;
  constructor(
    readonly step: number,
    readonly term: string,
    readonly kept: KeptCheckpoint | null,
  ) {
    super(`training stopped: the loss became ${term} at step ${step}${keptText(kept)}${remedy(kept)}`);
    this.name = "NonFiniteLossError";
    this.checkpoint = kept?.path ?? null;
  }
}

/**
 * The loss of a step was finite but its update was not: the weights or the optimizer state hold NaN/Inf,
 * or the updated model's loss is no longer finite. Such a state is never written over a checkpoint.
 */
export class NonFiniteStateError extends Error {
  readonly checkpoint: string | null;
  constructor(
    readonly step: number,
    readonly what: string,
    readonly kept: KeptCheckpoint | null,
  ) {
    super(`training stopped: the update of step ${step} made the ${what}${keptText(kept)}${remedy(kept)}`);
    this.name = "NonFiniteStateError";
    this.checkpoint = kept?.path ?? null;
  }
}

export async function trainLoop(run: TrainRun): Promise<TrainSummary> {
  const { model, optimizer, config: c, outDir, parallel } = run;
  const device = run.device ?? "cpu";
  const progress = run.progress ?? new Progress();
  // With data parallelism, the other ranks read the run folder (to resume) but never write it.
  const main = parallel?.isMain ?? true;
  mkdirSync(outDir, { recursive: true });
  const folder = new RunFolder(outDir);
  if (main) for (const f of folder.removeStaleTemps()) progress.line(`removed ${f}: a write interrupted by a kill`);
  const ckptPath = folder.checkpointPath;
  const metrics = folder.metrics();
  const params = model.parameters();

  // Each batch is copied into a tensor at once, so two reused buffers serve the whole run.
  const loader = new BatchLoader(run.train, {
    batchSize: c.batchSize,
    shuffle: true,
    seed: c.seed,
    dropLast: true,
    reuseBuffers: true,
    mutationRate: c.mutationRate ?? 0,
  });
  let start = 0;
  let wallBefore = 0;
  let lastLoss = NaN;
  // This run's checkpoint on disk, which a failure leaves in place.
  let kept: KeptCheckpoint | null = null;
  if (run.resume && folder.hasCheckpoint()) {
    const ck = loadCheckpoint(ckptPath);
    model.loadStateDict(ck.model);
    optimizer.loadStateDict({ tensors: ck.optimizer, meta: ck.state.optimizer });
    loader.restore(ck.state.loader as LoaderState);
    if (ck.rng) torch.setRngState(ck.rng);
    torch.dispose([ck.model, ck.optimizer, ck.rng]);
    start = ck.step;
    kept = { path: ckptPath, step: start };
    wallBefore = Number(ck.state.wallTime ?? 0);
    // The loss logged last, so that a run with nothing left to train reports it rather than NaN.
    const logged = (main ? metrics.truncateAfter(start) : []).filter((l): l is StepMetrics => "loss" in l);
    lastLoss = logged.at(-1)?.loss ?? NaN;
    progress.line(`resumed from ${ckptPath} at step ${start}`);
  } else if (main) {
    metrics.truncateAfter(-1);
  }

  /**
   * What is wrong with the state after this step's update, or null. A step's loss is computed before its
   * update, so it says nothing about the weights about to be saved: they are checked here, and so is the
   * loss they give on the step's own batch (weights can be finite yet so large that it overflows).
   */
  const badState = (batch: { x: Float32Array; shape: readonly number[] }): string | null => {
    const weights = nonFiniteTensors(model.stateDict());
    if (weights.length) return `weights non-finite (in ${someOf(weights)})`;
    const state = nonFiniteTensors(optimizer.stateDict().tensors);
    if (state.length) return `optimizer state non-finite (in ${someOf(state)})`;
    // Eval mode and no autograd leave every buffer as it was; the generator is put back, so the run
    // continues exactly as if unchecked.
    const rng = torch.getRngState();
    model.train(false);
    try {
      return torch.tidy(() =>
        torch.noGrad(() => {
          const r = model.objective(batchTensor(batch.x, batch.shape, device));
          return r.logPx.isfinite().all().item() ? null : `loss ${badTerm(r)} on the step's batch`;
        }),
      );
    } finally {
      model.train(true);
      torch.setRngState(rng);
      rng.dispose();
    }
  };

  const save = (step: number, wall: number, batch: { x: Float32Array; shape: readonly number[] }) => {
    const bad = badState(batch);
    if (bad) throw new NonFiniteStateError(step, bad, kept);
    const opt = optimizer.stateDict();
    saveCheckpoint(ckptPath, {
      step,
      model: model.stateDict(),
      optimizer: opt.tensors,
      state: { optimizer: opt.meta, loader: loader.state(), wallTime: wall },
      imageShape: model.imageShape,
    });
    kept = { path: ckptPath, step };
  };

  const t0 = performance.now();
  const wall = () => wallBefore + (performance.now() - t0) / 1000;
  // Reading the loss back is free on the CPU (it is computed synchronously); on a GPU it would stall the
  // queue, so there the loss is read only when it is logged.
  const readEvery = device === "cpu" ? 1 : c.logEvery;
  let lastGradNorm = NaN,
    windowStart = performance.now(),
    windowImages = 0;
  const last = Math.min(c.steps, run.stopAfter ?? c.steps);
  model.train(true);

  for (let step = start + 1; step <= last; step++) {
    const batch = loader.next();
    if (parallel && step === start + 1) await parallel.begin(model, batch, device);
    const mine = parallel ? parallel.shard(batch) : batch;
    optimizer.lr = c.lrAt(step);
    const readNow = step % readEvery === 0 || step % c.logEvery === 0 || step === last;
    const x = batchTensor(mine.x, mine.shape, device);
    const stepOptions = {
      clipNorm: c.clipNorm,
      params,
      read: readNow,
      onNonFinite: (term: string) => {
        throw new NonFiniteLossError(step, term, kept);
      },
    };
    let r;
    try {
      // Data parallel: the gradients and the loss averaged over the ranks, so each takes the same step.
      r = parallel
        ? await trainStepAveraged(model, optimizer, x, stepOptions, (p, loss) => parallel.averageGradients(p, loss))
        : trainStep(model, optimizer, x, stepOptions);
    } finally {
      x.dispose();
    }
    if (readNow) [lastLoss, lastGradNorm] = [r.loss, r.gradNorm];
    windowImages += batch.shape[0];
    if (main && (step % c.logEvery === 0 || step === c.steps)) {
      const now = performance.now();
      const imagesPerSec = (windowImages * 1000) / Math.max(now - windowStart, 1e-6);
      windowStart = now;
      windowImages = 0;
      metrics.append({ step, loss: lastLoss, lr: optimizer.lr, gradNorm: lastGradNorm, imagesPerSec, wallTime: wall() });
      progress.update({ step, total: c.steps, loss: lastLoss, imagesPerSec, elapsed: wall() });
    }
    if (main && run.evalSplits && c.evalEvery > 0 && (step % c.evalEvery === 0 || step === c.steps)) {
      const evalResults: Record<string, number> = {};
      for (const [name, ds] of Object.entries(run.evalSplits)) {
        evalResults[name] = evaluate(model, ds, { limit: c.evalLimit, device }).mean.bitsPerDim;
      }
      metrics.append({ step, eval: evalResults, wallTime: wall() });
      progress.line(
        `step ${step}: ` +
          Object.entries(evalResults)
            .map(([k, v]) => `${k} ${v.toFixed(3)}`)
            .join(", ") +
          " bits/dim",
      );
    }
    if (main && ((c.checkpointEvery > 0 && step % c.checkpointEvery === 0) || step === last)) {
      save(step, wall(), batch);
    }
    // Lets the loader build the next batch while nothing else waits (and keeps the process responsive).
    if (step % 8 === 0) await new Promise((r) => setImmediate(r));
  }
  loader.dispose();
  return { steps: last, finalLoss: lastLoss, seconds: wall(), resumedFrom: start };
}
