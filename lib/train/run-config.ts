// config.json of a run folder: what was trained, on what, with which hyperparameters. Checked field by
// field when read, so a hand-edited or damaged file fails at once with the field named, not steps later
// inside the model or the loader.
import { isDatasetName, parseDatasetSplit, parseSplit } from "../data/index.js";
import { parseDevice, type Device } from "../tensor/index.js";
import { MODEL_KINDS, type ModelConfig } from "../models/registry.js";
import type { ModelKind } from "../models/density.js";
import { PRESETS, type PresetName, type TrainHyper } from "../presets.js";
import type { BackgroundConfig } from "./background.js";

export const RUN_FORMAT = "torchts-ood-run/1";

export interface RunConfig {
  format: typeof RUN_FORMAT;
  kind: ModelKind;
  preset: PresetName;
  /** Training data, e.g. "fashion-mnist:train". */
  dataset: string;
  seed: number;
  device: Device;
  model: ModelConfig;
  train: TrainHyper;
  /** Splits evaluated during training. */
  evalSplits: string[];
  /** The validation split, never trained on (val-split.ts); absent in runs made before it existed. */
  valSplit?: string;
  /** Present for a background model of the likelihood ratio (background.ts); its l2 is in train.weightDecay. */
  background?: BackgroundConfig;
}

/** A config.json that cannot be a run's: names the file and the field. */
export class RunConfigError extends Error {
  constructor(
    readonly path: string,
    readonly field: string | null,
    problem: string,
  ) {
    super(`${path}: ${field === null ? "" : `"${field}" `}${problem}; fix the file or train the run again`);
    this.name = "RunConfigError";
  }
}

const OPTIMIZERS: readonly TrainHyper["optimizer"][] = ["adam", "rmsprop", "adamax"];
const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses and checks config.json's text; `path` is for the messages. */
export function parseRunConfig(text: string, path: string): RunConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RunConfigError(path, null, `is not valid JSON (${(e as Error).message})`);
  }
  return validateRunConfig(raw, path);
}

export function validateRunConfig(raw: unknown, path: string): RunConfig {
  const fail = (field: string | null, problem: string): never => {
    throw new RunConfigError(path, field, problem);
  };
  if (!isObject(raw)) return fail(null, "is not a JSON object");
  if (raw.format !== RUN_FORMAT) fail(null, `is not a torchts-ood run config (format ${show(raw.format)}, expected "${RUN_FORMAT}")`);
  const oneOf = (field: string, v: unknown, allowed: readonly string[]) => {
    if (typeof v !== "string" || !allowed.includes(v)) fail(field, `must be one of ${allowed.join(", ")}, got ${show(v)}`);
  };
  const splitSpec = (field: string, v: unknown) => {
    if (typeof v !== "string") return fail(field, `must be a DATASET:SPLIT string, got ${show(v)}`);
    try {
      const { dataset, split } = parseDatasetSplit(v);
      if (!isDatasetName(dataset)) fail(field, `names an unknown data set '${dataset}'`);
      parseSplit(split);
    } catch (e) {
      if (e instanceof RunConfigError) throw e;
      fail(field, `is not a split: ${(e as Error).message}`);
    }
  };
  const number = (field: string, v: unknown, ok: (n: number) => boolean, what: string) => {
    if (typeof v !== "number" || !ok(v)) fail(field, `must be ${what}, got ${show(v)}`);
  };
  const int = (min: number) => (n: number) => Number.isInteger(n) && n >= min;

  oneOf("kind", raw.kind, MODEL_KINDS);
  oneOf("preset", raw.preset, PRESETS);
  splitSpec("dataset", raw.dataset);
  number("seed", raw.seed, int(0), "an integer >= 0");
  if (typeof raw.device !== "string") fail("device", `must be cpu, cuda or cuda:N, got ${show(raw.device)}`);
  try {
    parseDevice(raw.device as string);
  } catch {
    fail("device", `must be cpu, cuda or cuda:N, got ${show(raw.device)}`);
  }
  // The model's own fields are the model's to check (createModel, loadStateDict); its kind must be the run's.
  const model = raw.model;
  if (!isObject(model)) fail("model", `must be an object (the model's configuration), got ${show(model)}`);
  else if (model.kind !== raw.kind) fail("model.kind", `must be the run's kind ${show(raw.kind)}, got ${show(model.kind)}`);

  const t = raw.train;
  if (!isObject(t)) return fail("train", `must be an object (the training hyperparameters), got ${show(t)}`);
  number("train.steps", t.steps, int(1), "an integer >= 1");
  number("train.batchSize", t.batchSize, int(1), "an integer >= 1");
  oneOf("train.optimizer", t.optimizer, OPTIMIZERS);
  number("train.lr", t.lr, (n) => Number.isFinite(n) && n > 0, "a positive number");
  for (const k of ["weightDecay", "clipNorm"] as const) number(`train.${k}`, t[k], (n) => Number.isFinite(n) && n >= 0, "a number >= 0");
  for (const k of ["warmup", "evalEvery", "evalLimit", "checkpointEvery"] as const) number(`train.${k}`, t[k], int(0), "an integer >= 0");
  number("train.logEvery", t.logEvery, int(1), "an integer >= 1");
  for (const k of ["boundaries", "factors"] as const)
    if (!Array.isArray(t[k]) || !(t[k] as unknown[]).every((v) => typeof v === "number" && Number.isFinite(v)))
      fail(`train.${k}`, `must be a list of numbers, got ${show(t[k])}`);
  if ((t.boundaries as number[]).length !== (t.factors as number[]).length)
    fail("train.factors", `must have one factor per boundary (${(t.boundaries as number[]).length}), got ${(t.factors as number[]).length}`);

  if (!Array.isArray(raw.evalSplits)) fail("evalSplits", `must be a list of DATASET:SPLIT strings, got ${show(raw.evalSplits)}`);
  (raw.evalSplits as unknown[]).forEach((s, i) => splitSpec(`evalSplits[${i}]`, s));
  if (raw.valSplit !== undefined) splitSpec("valSplit", raw.valSplit);

  const b = raw.background;
  if (b !== undefined) {
    if (!isObject(b)) fail("background", `must be an object { mutationRate, l2 }, got ${show(b)}`);
    else {
      number("background.mutationRate", b.mutationRate, (n) => n > 0 && n < 1, "in (0, 1)");
      number("background.l2", b.l2, (n) => Number.isFinite(n) && n >= 0, "a number >= 0");
    }
  }
  return raw as unknown as RunConfig;
}
