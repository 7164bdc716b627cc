// Making and loading runs: `trainRun` trains one into a run folder (run-folder.ts; the CLI's `train` and
// sweeps from TypeScript), `openRun` loads its model back for evaluation and analyses.
import { resolve } from "node:path";
import * as torch from "../tensor/index.js";
import { DatasetNotFoundError, loadDataset, paperSplits, parseDatasetSplit, type ImageDataset, type LoadOptions } from "../data/index.js";
import type { ModelKind } from "../models/density.js";
import { createModel, presetFor, type AnyModel } from "../models/registry.js";
import type { PresetName, TrainHyper } from "../presets.js";
import { Adam, Adamax, RMSprop, type Optimizer, piecewiseConstant, linearWarmup, type Schedule } from "../optim/index.js";
import { trainLoop, type TrainSummary } from "./trainer.js";
import { loadCheckpoint, nonFiniteTensors, someOf } from "./checkpoint.js";
import { planResume } from "./resume.js";
import { Progress } from "./progress.js";
import { backgroundConfig, type BackgroundConfig } from "./background.js";
import { RUN_FORMAT, type RunConfig } from "./run-config.js";
import { RunFolder } from "./run-folder.js";
import type { DataParallelStep } from "../distributed/data-parallel.js";

export type { RunConfig } from "./run-config.js";

export interface TrainRunOptions {
  /** Model kind of a new run (default glow). */
  kind?: ModelKind;
  preset?: PresetName;
  /** Data set name (catalog name). */
  dataset?: string;
  /** The split to train on (default "train"), e.g. "test[:5000]" where only a test split exists. */
  trainSplit?: string;
  out: string;
  seed?: number;
  device?: torch.Device;
  /** Continue the run in `out` from its checkpoint; other options follow its config.json (see resume.ts). */
  resume?: boolean;
  /** Overrides of the preset's training hyperparameters. */
  overrides?: Partial<TrainHyper>;
  evalSplits?: string[];
  /** Train a background model (background.ts); unset fields take BACKGROUND_DEFAULTS. */
  background?: Partial<BackgroundConfig>;
  data?: LoadOptions;
  quiet?: boolean;
  /** This process's part of a data-parallel run (lib/distributed); the others than rank 0 write nothing. */
  parallel?: DataParallelStep;
}

/** "mnist:test" -> loaded data set (any split string the data layer knows, e.g. "mnist:test[:5000]"). */
export async function loadSplit(spec: string, data: LoadOptions = {}): Promise<ImageDataset> {
  const { dataset, split } = parseDatasetSplit(spec);
  return loadDataset(dataset, split, data);
}

export function scheduleOf(t: TrainHyper): Schedule {
  const base = t.boundaries.length ? piecewiseConstant(t.lr, t.boundaries, t.factors) : () => t.lr;
  return t.warmup > 0 ? linearWarmup(base, t.warmup) : base;
}

export function optimizerOf(t: TrainHyper, params: torch.Tensor[]): Optimizer {
  const o = { lr: t.lr, weightDecay: t.weightDecay };
  if (t.optimizer === "adam") return new Adam(params, o);
  if (t.optimizer === "adamax") return new Adamax(params, o);
  return new RMSprop(params, o);
}

export async function trainRun(o: TrainRunOptions): Promise<{ config: RunConfig; summary: TrainSummary }> {
  const out = resolve(o.out);
  const folder = new RunFolder(out);
  const main = o.parallel?.isMain ?? true;
  let config: RunConfig;
  let writeConfig = true;
  const resume = (o.resume ?? false) && folder.exists();
  if (resume) {
    const plan = planResume(out, folder.readConfig(), folder.checkpointStep(), o);
    if (main) for (const m of plan.messages) process.stderr.write(`train: ${m}\n`);
    config = plan.config;
    writeConfig = plan.changed;
  } else {
    const dataset = o.dataset ?? "fashion-mnist";
    const trainSpec = `${dataset}:${o.trainSplit ?? "train"}`;
    const train = await loadSplit(trainSpec, o.data);
    const preset = presetFor(o.kind ?? "glow", o.preset ?? "cpu", [train.channels, train.height, train.width]);
    const background = o.background ? backgroundConfig(o.background) : undefined;
    const hyper = { ...preset.train, ...o.overrides };
    // The background's penalty comes on top of the preset's own decay: the same training plus L2.
    if (background) hyper.weightDecay += background.l2;
    config = {
      format: RUN_FORMAT,
      kind: o.kind ?? "glow",
      preset: o.preset ?? "cpu",
      dataset: trainSpec,
      seed: o.seed ?? 0,
      device: o.device ?? torch.defaultDevice(),
      model: preset.model,
      train: hyper,
      evalSplits: o.evalSplits ?? defaultEvalSplits(trainSpec),
      ...(background ? { background } : {}),
    };
  }
  // A new model in a folder that held one: the old model's scores must not pass for the new one's.
  // Only rank 0 writes the run folder (data parallel: the others read it).
  if (main) {
    if (!resume) folder.scores.clear();
    if (writeConfig) folder.writeConfig(config);
  }
  const train = await loadSplit(config.dataset, o.data);
  const evalSplits: Record<string, ImageDataset> = {};
  for (const s of main ? config.evalSplits : []) {
    try {
      evalSplits[s] = await loadSplit(s, o.data);
    } catch (e) {
      // A default out-of-distribution split that is not on this machine is skipped, not fatal; one the
      // caller asked for is an error.
      if (o.evalSplits || !(e instanceof DatasetNotFoundError)) throw e;
      process.stderr.write(`train: skipping evaluation on ${s}: not found here (set TORCHTS_OOD_DATA or pass --download)\n`);
    }
  }

  torch.manualSeed(config.seed);
  const model = createModel(config.model);
  if (config.device !== "cpu") model.to(config.device);
  const optimizer = optimizerOf(config.train, model.parameters());
  const lrAt = scheduleOf(config.train);
  try {
    const summary = await trainLoop({
      model,
      optimizer,
      train,
      evalSplits,
      outDir: out,
      device: config.device,
      resume: o.resume ?? false,
      progress: new Progress(process.stderr, 10, (o.quiet ?? false) || !main),
      parallel: o.parallel,
      config: { ...config.train, lrAt, seed: config.seed, mutationRate: config.background?.mutationRate ?? 0 },
    });
    return { config, summary };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/** What a run trained on `train` ("DATASET:SPLIT") is evaluated on: its test data and its OOD partner's (the catalog's). */
export function defaultEvalSplits(train: string): string[] {
  const s = paperSplits(train);
  return [s.test, ...(s.ood ? [s.ood] : [])];
}

export interface OpenRun {
  dir: string;
  folder: RunFolder;
  config: RunConfig;
  model: AnyModel;
  step: number;
}

/** Loads a run folder's model with its checkpoint, in eval mode. */
export function openRun(dir: string, device?: torch.Device): OpenRun {
  const folder = new RunFolder(dir);
  const config = folder.readConfig();
  const ck = loadCheckpoint(folder.checkpointPath);
  let model: AnyModel | undefined;
  let fault: string | undefined;
  try {
    // A diverged run's weights would score and sample as NaN: refuse them here, with the reason.
    const bad = nonFiniteTensors(ck.model);
    const shape = config.model.imageShape;
    // Convolutions take any image size, so the weights alone would not show a config.json edited to another.
    if (ck.imageShape && ck.imageShape.join() !== shape.join()) {
      fault =
        `${dir}/checkpoint.safetensors was trained on ${ck.imageShape.join("x")} images, config.json says model.imageShape ` +
        `${shape.join("x")}: put back [${ck.imageShape.join(", ")}] in config.json`;
    } else if (bad.length) {
      fault =
        `${dir}/checkpoint.safetensors (step ${ck.step}) holds non-finite weights (in ${someOf(bad)}): the run diverged ` +
        "before this checkpoint was written. Nothing can be scored or sampled from it: train it again with a lower --lr.";
    } else {
      model = createModel(config.model);
      try {
        model.loadStateDict(ck.model);
      } catch (e) {
        fault = `${dir}/checkpoint.safetensors does not fit the model in config.json: ${(e as Error).message}`;
      }
    }
  } finally {
    torch.dispose([ck.model, ck.optimizer, ck.rng]);
  }
  if (fault || !model) {
    model?.dispose();
    throw new Error(fault);
  }
  const dev = device ?? torch.defaultDevice();
  if (dev !== "cpu") model.to(dev);
  model.train(false);
  return { dir, folder, config, model, step: ck.step };
}
