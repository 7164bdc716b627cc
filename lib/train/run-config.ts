// config.json of a run folder: what was trained, on what, with which hyperparameters. Checked against
// its schema (lib/schema.ts) when read, so a hand-edited or damaged file fails at once with every bad
// field named, not steps later inside the model or the loader. Unknown top-level and train fields are
// kept, not refused: a run folder written by a later version (or with fields an earlier one lacked,
// such as valSplit) still opens. The model's fields are checked by the model's own schema.
import { getCatalogEntry, isDatasetName, parseDatasetSplit, parseSplit } from "../data/index.js";
import { parseDevice, type Device } from "../tensor/index.js";
import { MODEL_KINDS, modelDescriptor, type ModelConfig } from "../models/registry.js";
import type { ModelKind } from "../models/density.js";
import { PRESETS, trainHyperSchema, type PresetName, type TrainHyper } from "../presets.js";
import { describeIssues, nonNegativeInt, numberIn, show, VALUE_SHOWN, z } from "../schema.js";
import type { BackgroundConfig } from "./background.js";

export const RUN_FORMAT = "torchts-ood-run/1";
/** A config.json is a few kB; anything past this is not one (and is not read into memory). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** A DATASET:SPLIT string naming a catalog data set and a split the data layer can parse. */
export const splitSpecSchema = z.string({ error: "must be a DATASET:SPLIT string" }).superRefine((v, ctx) => {
  try {
    const { dataset, split } = parseDatasetSplit(v);
    if (!isDatasetName(dataset)) return void ctx.addIssue({ code: "custom", message: `names an unknown data set '${dataset}'`, params: VALUE_SHOWN });
    parseSplit(split);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: `is not a split: ${(e as Error).message}`, params: VALUE_SHOWN });
  }
});

const deviceSchema = z.string({ error: "must be cpu, cuda or cuda:N" }).refine(
  (d) => {
    try {
      parseDevice(d);
      return true;
    } catch {
      return false;
    }
  },
  { error: "must be cpu, cuda or cuda:N" },
);

export const backgroundSchema = z.object(
  {
    mutationRate: numberIn("must be in (0, 1)", (n) => n > 0 && n < 1),
    l2: numberIn("must be a number >= 0", (n) => n >= 0),
  },
  { error: "must be an object { mutationRate, l2 }" },
);

const runConfigFields = {
  format: z.literal(RUN_FORMAT),
  kind: z.enum(MODEL_KINDS as [ModelKind, ...ModelKind[]], { error: `must be one of ${MODEL_KINDS.join(", ")}` }),
  preset: z.enum(PRESETS as [PresetName, ...PresetName[]], { error: `must be one of ${PRESETS.join(", ")}` }),
  /** Training data, e.g. "fashion-mnist:train". */
  dataset: splitSpecSchema,
  /** Held-out part of the training data watched during training (issue 22), e.g. "fashion-mnist:train[55000:]". */
  valSplit: splitSpecSchema.optional(),
  seed: nonNegativeInt,
  device: deviceSchema,
  /** The model's fields are its own schema's to check (checkRunModel). */
  model: z.looseObject({ kind: z.string() }, { error: "must be an object (the model's configuration)" }),
  train: trainHyperSchema,
  /** Splits evaluated during training. */
  evalSplits: z.array(splitSpecSchema, { error: "must be a list of DATASET:SPLIT strings" }),
  /** Present for a background model of the likelihood ratio (background.ts); its l2 is in train.weightDecay. */
  background: backgroundSchema.optional(),
};
export const runConfigSchema = z.looseObject(runConfigFields);

/** The fields as the schema checks them, with the model's config typed by its kind's schema. */
export type RunConfig = Omit<z.infer<z.ZodObject<typeof runConfigFields>>, "model" | "device" | "train" | "background"> & {
  device: Device;
  model: ModelConfig;
  train: TrainHyper;
  background?: BackgroundConfig;
};

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
  const fail = (problems: string[]): never => {
    throw new RunConfigError(path, null, problems.join("; "));
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail(["is not a JSON object"]);
  const format = (raw as { format?: unknown }).format;
  if (format !== RUN_FORMAT) fail([`is not a torchts-ood run config (format ${show(format)}, expected "${RUN_FORMAT}")`]);
  const r = runConfigSchema.safeParse(raw);
  if (!r.success) fail(describeIssues(r.error, raw));
  const c = r.data!;
  if (c.model.kind !== c.kind) fail([`"model.kind" must be the run's kind ${show(c.kind)}, got ${show(c.model.kind)}`]);
  const m = modelDescriptor(c.kind).schema.safeParse(c.model);
  if (!m.success) fail(describeIssues(m.error, c.model, "model"));
  // The model is built for the training data's images: another shape would open (convolutions take any
  // size) and score images it was never trained on.
  const entry = getCatalogEntry(parseDatasetSplit(c.dataset).dataset);
  const want = [entry.channels, entry.height, entry.width];
  const shape = (c.model as unknown as { imageShape: number[] }).imageShape;
  if (shape.join() !== want.join())
    fail([`"model.imageShape" must be ${show(want)}, the shape of ${entry.name} images (the run's "dataset"), got ${show(shape)}`]);
  return c as unknown as RunConfig;
}
