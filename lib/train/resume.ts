// `train --resume`: config.json says what is trained and how. Flags given again either change how the
// run continues, where that is sound (--steps, --lr, --device), or are ignored; either way the user is
// told, and an impossible request changes nothing.
import * as torch from "../tensor/index.js";
import type { TrainHyper } from "../presets.js";
import { parseDatasetSplit } from "../data/split.js";
import type { RunConfig, TrainRunOptions } from "./run.js";

export interface ResumePlan {
  config: RunConfig;
  /** Whether config.json must be rewritten. */
  changed: boolean;
  /** One line each: flags honored, and one line for all flags ignored. */
  messages: string[];
}

const FLAG: Partial<Record<keyof TrainHyper, string>> = { batchSize: "--batch-size", lr: "--lr", steps: "--steps" };

/** Applies the options of a resumed `trainRun` to the run's config (a copy); `at` is the checkpoint's step. */
export function planResume(dir: string, saved: RunConfig, at: number, o: TrainRunOptions): ResumePlan {
  const config: RunConfig = { ...saved, train: { ...saved.train } };
  const messages: string[] = [];
  let changed = false;

  const steps = o.overrides?.steps;
  if (steps !== undefined && steps <= at)
    throw new Error(
      `cannot resume ${dir} with --steps ${steps}: the run is already at step ${at}, and --steps (the total to reach) ` +
        `must exceed ${at}. Nothing was changed.`,
    );
  if (steps !== undefined && steps !== config.train.steps) [config.train.steps, changed] = [steps, true];

  // Adam's and RMSprop's state does not depend on the rate, so a new one applies from the next step.
  const lr = o.overrides?.lr;
  if (lr !== undefined && lr !== config.train.lr) {
    messages.push(`--lr ${lr}: the learning rate from step ${at + 1} on (was ${config.train.lr}); config.json records it`);
    [config.train.lr, changed] = [lr, true];
  }
  // The optimizer's state is copied onto the parameters' device when loaded, so any device will do.
  if (o.device !== undefined && o.device !== config.device) {
    messages.push(`--device ${o.device}: continuing on ${o.device} (the run was on ${config.device}); config.json records it`);
    [config.device, changed] = [o.device, true];
  } else if (config.device !== "cpu" && !torch.cuda.isAvailable()) {
    throw new Error(`${dir} was trained on ${config.device}, which this machine does not have: resume with --device cpu to continue on the CPU`);
  }

  // What defines the run (model, data, batches, seed) stays: changing it would be another run.
  const { dataset, split: trainSplit } = parseDatasetSplit(config.dataset);
  const ignored: string[] = [];
  const keep = (flag: string, given: unknown, kept: unknown) => {
    if (given !== undefined && String(given) !== String(kept)) ignored.push(`${flag} ${given} (the run keeps ${kept})`);
  };
  keep("model", o.kind, config.kind);
  keep("--preset", o.preset, config.preset);
  keep("--dataset", o.dataset, dataset);
  keep("--train-split", o.trainSplit, trainSplit);
  keep("--val-split", o.valSplit, config.valSplit ?? "none");
  keep("--eval-splits", o.evalSplits?.join(","), config.evalSplits.join(","));
  keep("--seed", o.seed, config.seed);
  if (o.background && !config.background) ignored.push("--background (the run is not a background run)");
  if (config.background) {
    keep("--mutation-rate", o.background?.mutationRate, config.background.mutationRate);
    keep("--l2", o.background?.l2, config.background.l2);
  }
  for (const [k, v] of Object.entries(o.overrides ?? {}) as [keyof TrainHyper, unknown][])
    if (k !== "steps" && k !== "lr") keep(FLAG[k] ?? k, v, config.train[k]);
  if (ignored.length) messages.push(`--resume continues ${dir} as configured, ignoring ${ignored.join(", ")}; start a new run (another --out) to change them`);
  return { config, changed, messages };
}
