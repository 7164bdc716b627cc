// RealNVP (Dinh et al. 2017): the descriptor the registry lists, with its presets.
import { type Preset, type PresetName, type Shape, isSmall, tinyTrain } from "../../presets.js";
import type { ModelDescriptor } from "../registry.js";
import { glow } from "../glow/descriptor.js";
import { RealNVP, type RealNVPConfig } from "./realnvp.js";
import { realnvpConfigSchema } from "./config.js";

function realnvp(preset: PresetName, shape: Shape): Preset {
  const model = { kind: "realnvp", imageShape: shape, alpha: 0.05, batchNorm: true } as const;
  if (preset === "paper") {
    // The paper trained RealNVP like Glow (its appendix A.1 lists one flow setup).
    return { model: { ...model, scales: isSmall(shape) ? 2 : 3, hidden: 64, blocks: 8 }, train: glow("glow", "paper", shape).train };
  }
  if (preset === "cpu") {
    return {
      // Its first scale runs at full resolution, so it costs several Glow steps per step: a narrow net.
      model: { ...model, scales: 2, hidden: 32, blocks: 1 },
      train: {
        steps: 4000,
        batchSize: 32,
        optimizer: "adam",
        lr: 1e-3,
        weightDecay: 5e-5,
        warmup: 200,
        boundaries: [3000, 3600],
        factors: [0.5, 0.25],
        clipNorm: 50,
        logEvery: 50,
        evalEvery: 1000,
        evalLimit: 1000,
        checkpointEvery: 500,
      },
    };
  }
  return { model: { ...model, scales: 2, hidden: 8, blocks: 1 }, train: tinyTrain };
}

export const realnvpModel: ModelDescriptor<RealNVPConfig> = {
  kind: "realnvp",
  title: "RealNVP",
  isFlow: true,
  schema: realnvpConfigSchema,
  create: (c) => new RealNVP(c),
  preset: realnvp as (p: PresetName, s: Shape) => Preset & { model: RealNVPConfig },
};
