// torchts-ood: the library's public surface, one namespace per layer.
export * as torch from "./tensor/index.js";
export * as nn from "./nn/index.js";
export * as flows from "./models/flows/index.js";
export * as optim from "./optim/index.js";
export * as data from "./data/index.js";
export * as distributed from "./distributed/index.js";
export { Glow, type GlowConfig } from "./models/glow/glow.js";
export { RealNVP, type RealNVPConfig } from "./models/realnvp/realnvp.js";
export {
  createModel,
  presetFor,
  modelDescriptor,
  MODELS,
  MODEL_KINDS,
  FLOW_KINDS,
  type ModelConfig,
  type AnyModel,
  type ModelDescriptor,
} from "./models/registry.js";
export { type DensityModel, type LogLikelihood, type ModelKind, bitsPerDim } from "./models/density.js";
export { PRESETS, type PresetName, type TrainHyper } from "./presets.js";
export { trainRun, openRun, loadSplit, type RunConfig, type TrainRunOptions } from "./train/run.js";
export { scoreRun, formatScores, type RunScores } from "./train/score.js";
export { evaluate, type EvalResult } from "./train/evaluate.js";
export { trainLoop, NonFiniteLossError } from "./train/trainer.js";
export { Scorer, type Scores } from "./serve/scorer.js";
export { oodScores, type OodOptions, type OodReport, type ScoreResult } from "./ood/ood-scores.js";
export { SCORE_NAMES, SCORES, type ScoreName } from "./ood/scores.js";
export { detectionMetrics, rocCurve, inDistributionThreshold, type DetectionMetrics } from "./ood/metrics.js";
export { createScoringPool } from "./serve/pool.js";
export { startServer } from "./serve/server.js";
// The errors of the validation layer and of bounded file reads, for callers that tell them apart.
export { SchemaError } from "./schema.js";
export { FileReadError } from "./files.js";
export { RunConfigError } from "./train/run-config.js";
export { MAX_SCORE_VALUES, SCORE_CHUNK } from "./serve/check-batch.js";
