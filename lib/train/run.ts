// A run folder: config.json (what was trained, with which hyperparameters), checkpoint.safetensors and
// metrics.jsonl. `trainRun` makes one (the CLI's `train` and sweeps from TypeScript), `openRun` loads
// one back for evaluation and analyses.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as torch from "../tensor/index.js";
import { DatasetNotFoundError, loadDataset, type ImageDataset, type LoadOptions } from "../data/index.js";
import type { ModelKind } from "../models/density.js";
import { createModel, presetFor, type AnyModel, type ModelConfig } from "../models/registry.js";
import type { PresetName, TrainHyper } from "../presets.js";
import { Adam, Adamax, RMSprop, type Optimizer, piecewiseConstant, linearWarmup, type Schedule } from "../optim/index.js";
import { trainLoop, type TrainSummary } from "./trainer.js";
import { checkpointStep, loadCheckpoint, nonFiniteTensors, someOf } from "./checkpoint.js";
import { planResume } from "./resume.js";
import { Progress } from "./progress.js";
import { writeFileAtomic } from "./run-files.js";
import { backgroundConfig, type BackgroundConfig } from "./background.js";
import type { DataParallelStep } from "../distributed/data-parallel.js";

export interface RunConfig {
  format: "torchts-ood-run/1";
  kind: ModelKind;
  preset: PresetName;
  /** Training data, e.g. "fashion-mnist:train". */
  dataset: string;
  seed: number;
  device: torch.Device;
  model: ModelConfig;
  train: TrainHyper;
  /** Splits evaluated during training. */
  evalSplits: string[];
  /** Present for a background model of the likelihood ratio (background.ts); its l2 is in train.weightDecay. */
  background?: BackgroundConfig;
}

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
  const i = spec.indexOf(":");
  if (i < 1) throw new Error(`bad split '${spec}': expected DATASET:SPLIT, e.g. mnist:test or fashion-mnist:train`);
  return loadDataset(spec.slice(0, i), spec.slice(i + 1), data);
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

const readConfig = (dir: string): RunConfig => {
  const p = join(dir, "config.json");
  if (!existsSync(p)) throw new Error(`${dir} is not a run folder (no config.json): train one with \`torchts-ood train\``);
  const c = JSON.parse(readFileSync(p, "utf8")) as RunConfig;
  if (c.format !== "torchts-ood-run/1") throw new Error(`${p}: not a torchts-ood run config`);
  return c;
};

export async function trainRun(o: TrainRunOptions): Promise<{ config: RunConfig; summary: TrainSummary }> {
  const out = resolve(o.out);
  const main = o.parallel?.isMain ?? true;
  let config: RunConfig;
  let writeConfig = true;
  if (o.resume && existsSync(join(out, "config.json"))) {
    const ckpt = join(out, "checkpoint.safetensors");
    const plan = planResume(out, readConfig(out), existsSync(ckpt) ? checkpointStep(ckpt) : 0, o);
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
      format: "torchts-ood-run/1", kind: o.kind ?? "glow", preset: o.preset ?? "cpu", dataset: trainSpec, seed: o.seed ?? 0,
      device: o.device ?? torch.defaultDevice(), model: preset.model, train: hyper,
      evalSplits: o.evalSplits ?? defaultEvalSplits(dataset), ...(background ? { background } : {}),
    };
  }
  mkdirSync(out, { recursive: true });
  if (writeConfig && main) writeFileAtomic(join(out, "config.json"), JSON.stringify(config, null, 2) + "\n");
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
      model, optimizer, train, evalSplits, outDir: out, device: config.device, resume: o.resume ?? false,
      progress: new Progress(process.stderr, 10, (o.quiet ?? false) || !main), parallel: o.parallel,
      config: { ...config.train, lrAt, seed: config.seed, mutationRate: config.background?.mutationRate ?? 0 },
    });
    return { config, summary };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/** The paper's splits: the training set's own train/test and the other MNIST-like set's test. */
export function defaultEvalSplits(dataset: string): string[] {
  const other: Record<string, string> = { "fashion-mnist": "mnist", mnist: "fashion-mnist", cifar10: "svhn", svhn: "cifar10" };
  return [`${dataset}:test`, ...(other[dataset] ? [`${other[dataset]}:test`] : [])];
}

export interface OpenRun {
  dir: string;
  config: RunConfig;
  model: AnyModel;
  step: number;
}

/** Loads a run folder's model with its checkpoint, in eval mode. */
export function openRun(dir: string, device?: torch.Device): OpenRun {
  const config = readConfig(dir);
  const ck = loadCheckpoint(join(dir, "checkpoint.safetensors"));
  let model: AnyModel | undefined;
  let fault: string | undefined;
  try {
    // A diverged run's weights would score and sample as NaN: refuse them here, with the reason.
    const bad = nonFiniteTensors(ck.model);
    if (bad.length) {
      fault = `${dir}/checkpoint.safetensors (step ${ck.step}) holds non-finite weights (in ${someOf(bad)}): the run diverged ` +
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
  return { dir, config, model, step: ck.step };
}
