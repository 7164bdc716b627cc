// The models, one descriptor each: every list of model kinds (the CLI's choices, the analyses' needs,
// which kinds are flows) and every switch over kinds (building a model, its presets) derives from MODELS.
// A new model is its folder (the model and its descriptor with presets) and one line here.
import type { Tensor } from "../tensor/index.js";
import type { z } from "../schema.js";
import type { Preset, PresetName, Shape } from "../presets.js";
import type { DensityModel } from "./density.js";
import { cvGlowModel, glowModel } from "./glow/descriptor.js";
import { realnvpModel } from "./realnvp/descriptor.js";
import { pixelcnnModel } from "./pixelcnn/descriptor.js";
import { vaeModel } from "./vae/descriptor.js";

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

/** What the toolkit knows of a model: its kind (the name in config.json and on the command line) and how to make it. */
export interface ModelDescriptor<C extends { kind: string }> {
  kind: C["kind"];
  title: string;
  /** A normalizing flow: gives log p(z) and the log-det, and the flow analyses apply. */
  isFlow: boolean;
  /** What a config of this kind must be (config.json and createModel check it). */
  schema: z.ZodType<C>;
  create(config: C): AnyModel;
  preset(preset: PresetName, shape: Shape): Preset & { model: C };
}

export const MODELS = [glowModel, cvGlowModel, realnvpModel, pixelcnnModel, vaeModel] as const;

export type ModelKind = (typeof MODELS)[number]["kind"];
export type ModelConfig = Parameters<(typeof MODELS)[number]["create"]>[0];
export const MODEL_KINDS: readonly ModelKind[] = MODELS.map((m) => m.kind);
export const FLOW_KINDS: readonly ModelKind[] = MODELS.filter((m) => m.isFlow).map((m) => m.kind);

export function modelDescriptor(kind: string): ModelDescriptor<ModelConfig> {
  const d = MODELS.find((m) => m.kind === kind);
  if (!d) throw new Error(`unknown model kind '${kind}' (one of ${MODEL_KINDS.join(", ")})`);
  return d as unknown as ModelDescriptor<ModelConfig>;
}

/** The model a config describes; the config is checked against its kind's schema first (the model's constructor). */
export function createModel(config: ModelConfig): AnyModel {
  if (typeof config !== "object" || config === null || typeof config.kind !== "string")
    throw new Error(`createModel: expected a model config with a "kind" (one of ${MODEL_KINDS.join(", ")}), got ${JSON.stringify(config)}`);
  return modelDescriptor(config.kind).create(config);
}

export const presetFor = (kind: ModelKind, preset: PresetName, shape: Shape): Preset => modelDescriptor(kind).preset(preset, shape);
