// Presets: a model configuration and training hyperparameters per (model kind, preset, image shape).
//   paper: the paper's appendix exactly (GPU-scale: 100K steps).
//   cpu:   trains in about 10 minutes on 2 free CPU cores (Glow: 78 ms a step) and shows the
//          paper's result (see experiments/README.md for what it reaches).
//   tiny:  seconds, for tests.
// Each model's own presets live beside it (lib/models/<model>/descriptor.ts); this file holds what they
// share. `presetFor` (lib/models/registry.ts) picks one.
import type { ModelConfig } from "./models/registry.js";

export type PresetName = "tiny" | "cpu" | "paper";
export const PRESETS: readonly PresetName[] = ["tiny", "cpu", "paper"];
export interface TrainHyper {
  steps: number;
  batchSize: number;
  optimizer: "adam" | "rmsprop" | "adamax";
  lr: number;
  /** L2 weight decay. */
  weightDecay: number;
  /** Linear warm-up over this many steps (0: none). */
  warmup: number;
  /** The rate is multiplied by factors[i] from boundaries[i] on. */
  boundaries: number[];
  factors: number[];
  clipNorm: number;
  logEvery: number;
  evalEvery: number;
  evalLimit: number;
  checkpointEvery: number;
}

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
