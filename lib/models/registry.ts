// Model configurations by kind, and building a model from one (what config.json stores).
import type { Tensor } from "../tensor/index.js";
import { Glow, type GlowConfig } from "./glow.js";
import { RealNVP, type RealNVPConfig } from "./realnvp.js";
import { PixelCNN, type PixelCNNConfig } from "./pixelcnn.js";
import { VAE, type VAEConfig } from "./vae.js";
import type { DensityModel, ModelKind } from "./density.js";

export type ModelConfig = GlowConfig | RealNVPConfig | PixelCNNConfig | VAEConfig;

/** A model the training loop and the CLI can drive. */
export type AnyModel = DensityModel & {
  training: boolean;
  train(on?: boolean): unknown;
  parameters(): Tensor[];
  stateDict(): Record<string, Tensor>;
  loadStateDict(d: Record<string, Tensor>): unknown;
  numParameters(): number;
  to(target: "cpu" | "cuda" | `cuda:${number}`): unknown;
  dispose(): void;
};

export const MODEL_KINDS: readonly ModelKind[] = ["glow", "cv-glow", "realnvp", "pixelcnn", "vae"];

export function createModel(cfg: ModelConfig): AnyModel {
  switch (cfg.kind) {
    case "glow":
    case "cv-glow":
      return new Glow(cfg);
    case "realnvp":
      return new RealNVP(cfg);
    case "pixelcnn":
      return new PixelCNN(cfg);
    case "vae":
      return new VAE(cfg);
    default:
      throw new Error(`model kind '${(cfg as { kind: string }).kind}' is not available yet`);
  }
}
