// Background models for the likelihood ratio (Ren et al., "Likelihood Ratios for Out-of-Distribution
// Detection", NeurIPS 2019): the same architecture trained on inputs whose pixels are mutated at a rate mu,
// with an L2 penalty lambda on the weights. It learns the background statistics (e.g. MNIST's black
// border) and not the semantics, so log p(x) - log p_background(x) cancels what the two share.
//
// The penalty is the optimizer's weight decay, added to train.weightDecay. Every optimizer here adds
// weightDecay * w to the gradient before its update (L2, not AdamW's decoupled decay): exactly the
// gradient of a term (lambda / 2) * sum(w^2) in the loss, the kind of term the paper's code used with Adam.
// Unlike an explicit term it costs no op per step, and the logged loss stays the model's bits/dim,
// comparable with an ordinary run's. lambda is on that scale: a term lambda' * sum(w^2) on nats per image
// (a Keras l2 regularizer, as in the paper's PixelCNN code; D dimensions) is lambda = 2 lambda' / (D ln 2).
import { parseDatasetSplit } from "../data/split.js";
import type { RunConfig } from "./run-config.js";

export interface BackgroundConfig {
  /** Probability that a pixel is replaced by a level uniform on 0..255, each time an image is drawn. */
  mutationRate: number;
  /** L2 penalty on every weight, included in train.weightDecay (which is what the optimizer applies). */
  l2: number;
}

/** The paper tunes mu in [0.1, 0.3]; 0.2 is its middle. */
export const BACKGROUND_DEFAULTS: BackgroundConfig = { mutationRate: 0.2, l2: 1e-4 };

/** Fills unset fields with the defaults and checks the values; errors name the command line's flags. */
export function backgroundConfig(given: Partial<BackgroundConfig> = {}): BackgroundConfig {
  const b = {
    mutationRate: given.mutationRate ?? BACKGROUND_DEFAULTS.mutationRate,
    l2: given.l2 ?? BACKGROUND_DEFAULTS.l2,
  };
  if (!(b.mutationRate > 0 && b.mutationRate < 1))
    throw new Error(`--mutation-rate must be in (0, 1), got ${b.mutationRate}: it is the probability that a pixel is replaced (the paper uses 0.1 to 0.3)`);
  if (!(Number.isFinite(b.l2) && b.l2 >= 0)) throw new Error(`--l2 must be a number >= 0, got ${b.l2}`);
  return b;
}

/**
 * For commands that take runs in a role: throws, saying what to pass instead, when `dir` is a background
 * run where a model of the data is expected, or the other way round.
 */
export function expectRunRole(dir: string, config: RunConfig, role: "model" | "background"): void {
  const { dataset } = parseDatasetSplit(config.dataset);
  if (role === "background" && !config.background)
    throw new Error(
      `${dir} is not a background run (its config.json has no "background"): train one with ` +
        `\`torchts-ood train ${config.kind} --dataset ${dataset} --background\` and pass that folder`,
    );
  if (role === "model" && config.background)
    throw new Error(
      `${dir} is a background run (trained on mutated inputs, mutation rate ${config.background.mutationRate}): ` +
        "pass it as the background model, and a run trained without --background as the model",
    );
}
