// Presets: a model configuration and training hyperparameters per (model kind, preset, image shape).
//   paper: the paper's appendix exactly (GPU-scale: 100K steps).
//   cpu:   the strongest configuration that trains in about 20 minutes on 2 CPU cores and shows the
//          paper's result (see experiments/README.md for what it reaches).
//   tiny:  seconds, for tests.
import type { ModelKind } from "./models/density.js";
import type { ModelConfig } from "./models/registry.js";
import type { GlowConfig } from "./models/glow.js";

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

type Shape = [number, number, number];
const isSmall = (s: Shape) => s[1] <= 28; // MNIST-sized vs CIFAR-sized

function glow(kind: "glow" | "cv-glow", preset: PresetName, shape: Shape): Preset {
  const additive = kind === "cv-glow";
  const base = { kind, imageShape: shape, coupling: additive ? "additive" : "affine", scale: "sigmoid", learnedPrior: false, lu: false } as const;
  if (preset === "paper") {
    const small = isSmall(shape);
    return {
      model: { ...base, levels: small ? 2 : 3, steps: small ? 16 : 8, hidden: small ? 200 : 400, net: "highway", actnorm: false } satisfies GlowConfig,
      train: {
        steps: 100_000, batchSize: 32, optimizer: "rmsprop", lr: 1e-5, weightDecay: small ? 0 : 5e-2, warmup: 0,
        boundaries: [80_000, 90_000], factors: [0.5, 0.25], clipNorm: 0, logEvery: 100, evalEvery: 5000, evalLimit: 10_000, checkpointEvery: 5000,
      },
    };
  }
  if (preset === "cpu") {
    // Glow's own coupling network and ActNorm: on CPU budgets a model must be able to rescale its
    // inputs to learn quickly (../shared/docs/measured.md).
    return {
      // The architecture of ../shared/bench/glow_small.json (L=2, K=8, 128 hidden) plus ActNorm.
      model: { ...base, levels: 2, steps: 8, hidden: 128, net: "conv", actnorm: true },
      train: {
        steps: 8000, batchSize: 32, optimizer: "adam", lr: 1e-3, weightDecay: 0, warmup: 200,
        boundaries: [6000, 7200], factors: [0.5, 0.25], clipNorm: 50, logEvery: 50, evalEvery: 1000, evalLimit: 1000, checkpointEvery: 500,
      },
    };
  }
  return {
    model: { ...base, levels: 2, steps: 2, hidden: 8, net: "conv", actnorm: true },
    train: {
      steps: 20, batchSize: 16, optimizer: "adam", lr: 1e-3, weightDecay: 0, warmup: 0, boundaries: [], factors: [],
      clipNorm: 50, logEvery: 5, evalEvery: 10, evalLimit: 64, checkpointEvery: 10,
    },
  };
}

function realnvp(preset: PresetName, shape: Shape): Preset {
  const model = { kind: "realnvp", imageShape: shape, alpha: 0.05, batchNorm: true } as const;
  if (preset === "paper") {
    // The paper trained RealNVP like Glow (its appendix A.1 lists one flow setup).
    return { model: { ...model, scales: isSmall(shape) ? 2 : 3, hidden: 64, blocks: 8 }, train: glow("glow", "paper", shape).train };
  }
  if (preset === "cpu") {
    return {
      model: { ...model, scales: 2, hidden: 64, blocks: 2 },
      train: {
        steps: 6000, batchSize: 32, optimizer: "adam", lr: 1e-3, weightDecay: 5e-5, warmup: 200,
        boundaries: [4500, 5400], factors: [0.5, 0.25], clipNorm: 50, logEvery: 50, evalEvery: 1000, evalLimit: 1000, checkpointEvery: 500,
      },
    };
  }
  return { model: { ...model, scales: 2, hidden: 8, blocks: 1 }, train: glow("glow", "tiny", shape).train };
}

export function presetFor(kind: ModelKind, preset: PresetName, shape: Shape): Preset {
  switch (kind) {
    case "glow":
    case "cv-glow":
      return glow(kind, preset, shape);
    case "realnvp":
      return realnvp(preset, shape);
    default:
      throw new Error(`no presets for '${kind}' yet`);
  }
}
