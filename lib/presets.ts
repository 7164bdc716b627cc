// Presets: a model configuration and training hyperparameters per (model kind, preset, image shape).
//   paper: the paper's appendix exactly (GPU-scale: 100K steps).
//   cpu:   trains in about 10 minutes on 2 free CPU cores (Glow: 78 ms a step) and shows the
//          paper's result (see experiments/README.md for what it reaches).
//   tiny:  seconds, for tests.
// Each model's own presets live beside it (lib/models/<model>/descriptor.ts); this file holds what they
// share. `presetFor` (lib/models/registry.ts) picks one.
import type { ModelConfig } from "./models/registry.js";
import { nonNegativeInt, numberIn, positiveInt, VALUE_SHOWN, z } from "./schema.js";

export type PresetName = "tiny" | "cpu" | "paper";
export const PRESETS: readonly PresetName[] = ["tiny", "cpu", "paper"];
const OPTIMIZERS = ["adam", "rmsprop", "adamax"] as const;
const numbers = z.array(numberIn("must be a list of numbers", Number.isFinite), { error: "must be a list of numbers" });
/** Training hyperparameters as config.json holds them; unknown fields are kept (later versions add some). */
const trainHyperFields = {
  steps: positiveInt,
  batchSize: positiveInt,
  optimizer: z.enum(OPTIMIZERS, { error: `must be one of ${OPTIMIZERS.join(", ")}` }),
  lr: numberIn("must be a positive number", (n) => n > 0),
  /** L2 weight decay. */
  weightDecay: numberIn("must be a number >= 0", (n) => n >= 0),
  /** Linear warm-up over this many steps (0: none). */
  warmup: nonNegativeInt,
  /** The rate is multiplied by factors[i] from boundaries[i] on. */
  boundaries: numbers,
  factors: numbers,
  clipNorm: numberIn("must be a number >= 0", (n) => n >= 0),
  logEvery: positiveInt,
  evalEvery: nonNegativeInt,
  evalLimit: nonNegativeInt,
  checkpointEvery: nonNegativeInt,
};
export const trainHyperSchema = z.looseObject(trainHyperFields, { error: "must be an object (the training hyperparameters)" }).superRefine((t, ctx) => {
  if (t.boundaries.length !== t.factors.length)
    ctx.addIssue({
      code: "custom",
      path: ["factors"],
      message: `must have one factor per boundary (${t.boundaries.length}), got ${t.factors.length}`,
      params: VALUE_SHOWN,
    });
});
export type TrainHyper = z.infer<z.ZodObject<typeof trainHyperFields>>;

export interface Preset {
  model: ModelConfig;
  train: TrainHyper;
}

export type Shape = [number, number, number];
/** MNIST-sized (28x28) rather than CIFAR-sized images. */
export const isSmall = (s: Shape) => s[1] <= 28;

/** The training of every tiny preset: seconds, for tests. */
export const tinyTrain: TrainHyper = {
  steps: 20,
  batchSize: 16,
  optimizer: "adam",
  lr: 1e-3,
  weightDecay: 0,
  warmup: 0,
  boundaries: [],
  factors: [],
  clipNorm: 50,
  logEvery: 5,
  evalEvery: 10,
  evalLimit: 64,
  checkpointEvery: 10,
};
