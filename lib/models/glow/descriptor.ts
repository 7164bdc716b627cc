// Glow (Kingma and Dhariwal 2018) and the paper's constant-volume Glow (additive couplings): the
// descriptors the registry lists, with their presets.
import { type Preset, type PresetName, type Shape, isSmall, tinyTrain } from "../../presets.js";
import type { ModelDescriptor } from "../registry.js";
import { Glow, type GlowConfig } from "./glow.js";
import { glowConfigSchema } from "./config.js";

export function glow(kind: "glow" | "cv-glow", preset: PresetName, shape: Shape): Preset {
  const additive = kind === "cv-glow";
  const base = { kind, imageShape: shape, coupling: additive ? "additive" : "affine", scale: "sigmoid", learnedPrior: false, lu: false } as const;
  if (preset === "paper") {
    const small = isSmall(shape);
    return {
      model: { ...base, levels: small ? 2 : 3, steps: small ? 16 : 8, hidden: small ? 200 : 400, net: "highway", actnorm: false } satisfies GlowConfig,
      train: {
        steps: 100_000,
        batchSize: 32,
        optimizer: "rmsprop",
        lr: 1e-5,
        weightDecay: small ? 0 : 5e-2,
        warmup: 0,
        boundaries: [80_000, 90_000],
        factors: [0.5, 0.25],
        clipNorm: 0,
        logEvery: 100,
        evalEvery: 5000,
        evalLimit: 10_000,
        checkpointEvery: 5000,
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
        steps: 8000,
        batchSize: 32,
        optimizer: "adam",
        lr: 1e-3,
        weightDecay: 0,
        warmup: 200,
        boundaries: [6000, 7200],
        factors: [0.5, 0.25],
        clipNorm: 50,
        logEvery: 50,
        evalEvery: 1000,
        evalLimit: 1000,
        checkpointEvery: 500,
      },
    };
  }
  return {
    model: { ...base, levels: 2, steps: 2, hidden: 8, net: "conv", actnorm: true },
    train: tinyTrain,
  };
}

export const glowModel: ModelDescriptor<GlowConfig & { kind: "glow" }> = {
  kind: "glow",
  title: "Glow",
  isFlow: true,
  schema: glowConfigSchema as never,
  create: (c) => new Glow(c),
  preset: (p, s) => glow("glow", p, s) as Preset & { model: GlowConfig & { kind: "glow" } },
};
export const cvGlowModel: ModelDescriptor<GlowConfig & { kind: "cv-glow" }> = {
  kind: "cv-glow",
  title: "constant-volume Glow",
  isFlow: true,
  schema: glowConfigSchema as never,
  create: (c) => new Glow(c),
  preset: (p, s) => glow("cv-glow", p, s) as Preset & { model: GlowConfig & { kind: "cv-glow" } },
};
