// Making and loading runs: `trainRun` trains one into a run folder (run-folder.ts; the CLI's `train` and
// sweeps from TypeScript), `openRun` loads its model back for evaluation and analyses.
import { resolve } from "node:path";
import * as torch from "../tensor/index.js";
import { DatasetNotFoundError, loadDataset, paperSplits, parseDatasetSplit, parseSplit, type ImageDataset, type LoadOptions } from "../data/index.js";
import { absoluteRange, carveValidation, namesDatasetSplit, splitsOverlap } from "./val-split.js";
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
  /**
   * The validation split the model never trains on ("test[5000:7500]", or "DATASET:SPLIT"); default: the
   * last 5,000 images of the training split are held out (val-split.ts); "none": no validation split.
   */
  valSplit?: string;
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
    const { trainSpec, valSpec, train } = await trainAndValidation(dataset, o);
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
      ...(valSpec ? { valSplit: valSpec } : {}),
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

/** The training split and the validation split of a new run (val-split.ts), checked not to overlap. */
async function trainAndValidation(dataset: string, o: TrainRunOptions): Promise<{ trainSpec: string; valSpec?: string; train: ImageDataset }> {
  let trainSpec = `${dataset}:${o.trainSplit ?? "train"}`;
  const whole = await loadSplit(trainSpec, o.data);
  if (o.valSplit === "none") return { trainSpec, train: whole };
  let valSpec: string;
  if (o.valSplit === undefined) {
    // The rule counts the images of the range, not of its classes: `train{0-4}` validates on `train[-5000:]{0-4}`.
    const [start, end] = absoluteRange(trainSpec, await splitSizes([trainSpec], o.data))!.range;
    ({ train: trainSpec, val: valSpec } = carveValidation(trainSpec, end - start));
  } else {
    valSpec = namesDatasetSplit(o.valSplit) ? o.valSplit : `${dataset}:${o.valSplit}`;
    const val = await loadSplit(valSpec, o.data); // exists, and holds images of the training data's shape
    if (val.channels !== whole.channels || val.height !== whole.height || val.width !== whole.width)
      throw new Error(
        `--val-split ${valSpec} has images of ${val.channels}x${val.height}x${val.width}, the training data ${whole.channels}x${whole.height}x${whole.width}`,
      );
    const sizes = await splitSizes([trainSpec, valSpec], o.data);
    if (splitsOverlap(trainSpec, valSpec, sizes))
      throw new Error(`--val-split ${valSpec} overlaps the training split ${trainSpec}: a validation split must hold images the model never trains on`);
  }
  if (!(o.quiet ?? false) && (o.parallel?.isMain ?? true))
    process.stderr.write(`train: training on ${trainSpec}, validation split ${valSpec} (never trained on; --val-split names another)\n`);
  const train = trainSpec === `${dataset}:${o.trainSplit ?? "train"}` ? whole : await loadSplit(trainSpec, o.data);
  return { trainSpec, valSpec, train };
}

/** The sizes of the official splits the specs name, for overlap checks (synthetic probes are skipped). */
export async function splitSizes(specs: string[], data: LoadOptions = {}): Promise<(dataset: string, base: string) => number> {
  const sizes = new Map<string, number>();
  for (const s of specs.filter(namesDatasetSplit)) {
    const { dataset, split } = parseDatasetSplit(s);
    const base = parseSplit(split).base;
    if (!sizes.has(`${dataset}:${base}`)) sizes.set(`${dataset}:${base}`, (await loadDataset(dataset, base, data)).n);
  }
  return (dataset, base) => sizes.get(`${dataset}:${base}`)!;
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

/** Loads a run folder's model with its checkpoint, in eval mode; `o` gives config and checkpoint bytes read before (a server keeps what it announced). */
export function openRun(dir: string, device?: torch.Device, o: { config?: RunConfig; checkpoint?: Uint8Array } = {}): OpenRun {
  const folder = new RunFolder(dir);
  const config = o.config ?? folder.readConfig();
  const ck = loadCheckpoint(folder.checkpointPath, o.checkpoint);
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
