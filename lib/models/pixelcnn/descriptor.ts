// Gated PixelCNN (van den Oord et al. 2016): the descriptor the registry lists, with its presets.
import { type Preset, type PresetName, type Shape, isSmall, tinyTrain } from "../../presets.js";
import type { ModelDescriptor } from "../registry.js";
import { PixelCNN, type PixelCNNConfig } from "./pixelcnn.js";
import { pixelcnnConfigSchema } from "./config.js";

function pixelcnn(preset: PresetName, shape: Shape): Preset {
  const base = { kind: "pixelcnn", imageShape: shape, kernel: 3, firstKernel: 7 } as const;
  if (preset === "paper") {
    // Appendix A.2. FashionMNIST: 5 gated layers of 32 features, a 256-unit skip layer, Adam 1e-4 for
    // 100K steps with decays at 80K and 90K (read as x0.5, x0.25, as the flows' schedule). CIFAR-10: 15
    // layers of 128 features, a 1024-unit skip layer, RMSProp 1e-4 for 200K steps, the rate divided by 3
    // at 120K, 180K and 195K. Batch 32.
    if (isSmall(shape))
      return {
        model: { ...base, layers: 5, features: 32, skip: 256 } satisfies PixelCNNConfig,
        train: {
          steps: 100_000,
          batchSize: 32,
          optimizer: "adam",
          lr: 1e-4,
          weightDecay: 0,
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
    return {
      model: { ...base, layers: 15, features: 128, skip: 1024 } satisfies PixelCNNConfig,
      train: {
        steps: 200_000,
        batchSize: 32,
        optimizer: "rmsprop",
        lr: 1e-4,
        weightDecay: 0,
        warmup: 0,
        boundaries: [120_000, 180_000, 195_000],
        factors: [1 / 3, 1 / 9, 1 / 27],
        clipNorm: 0,
        logEvery: 100,
        evalEvery: 5000,
        evalLimit: 10_000,
        checkpointEvery: 5000,
      },
    };
  }
  if (preset === "cpu") {
    // The paper's FashionMNIST network (already CPU-sized), trained with Adam 1e-3 for ~10 minutes.
    // Measured with the CLI (--threads 1, three other training runs on the same 2 cores): 1.7 steps/s,
    // 1200 steps in 12.9 min with the two evaluations. Full test sets: FashionMNIST 3.17, MNIST 1.59 bits/dim.
    return {
      model: { ...base, layers: 5, features: 32, skip: 256 },
      train: {
        steps: 1200,
        batchSize: 32,
        optimizer: "adam",
        lr: 1e-3,
        weightDecay: 0,
        warmup: 100,
        boundaries: [900, 1080],
        factors: [0.5, 0.25],
        clipNorm: 50,
        logEvery: 25,
        evalEvery: 600,
        evalLimit: 500,
        checkpointEvery: 200,
      },
    };
  }
  return { model: { ...base, layers: 2, features: 8, skip: 16, firstKernel: 3 }, train: tinyTrain };
}

export const pixelcnnModel: ModelDescriptor<PixelCNNConfig> = {
  kind: "pixelcnn",
  title: "Gated PixelCNN",
  isFlow: false,
  schema: pixelcnnConfigSchema,
  create: (c) => new PixelCNN(c),
  preset: pixelcnn as (p: PresetName, s: Shape) => Preset & { model: PixelCNNConfig },
};
