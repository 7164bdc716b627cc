// Glow (Kingma & Dhariwal 2018) as the paper's appendix A.1 uses it, and CV-Glow (additive coupling,
// so the log-det is the same for every input). Multi-scale: per level, squeeze, K steps of
// [ActNorm] -> invertible 1x1 convolution -> coupling, then half the channels are factored out
// under the prior. The model is that list of layers, one FlowChain.
import * as torch from "../../tensor/index.js";
import { type Tensor } from "../../tensor/index.js";
import { Module, ModuleList } from "../../nn/index.js";
import {
  ActNorm,
  CenterPixels,
  Coupling,
  FlowChain,
  GaussianPrior,
  InvertibleConv1x1,
  InvertibleConv1x1LU,
  Squeeze,
  SplitPriorNet,
  SplitWithPrior,
  standardNormal,
  type CodePrior,
  type FactoredCodes,
  type FlowLayer,
} from "../flows/index.js";
import { Flow } from "../flows/flow.js";
import { glowConfigSchema, type GlowConfig } from "./config.js";
import { parseWith } from "../../schema.js";

export type { GlowConfig } from "./config.js";

/** One step of flow: [ActNorm] -> 1x1 convolution -> coupling (registered under those names). */
export class GlowStep extends Module implements FlowLayer {
  readonly actnorm: ActNorm | null;
  readonly invconv: InvertibleConv1x1 | InvertibleConv1x1LU;
  readonly coupling: Coupling;
  private readonly chain: FlowChain;

  constructor(channels: number, cfg: GlowConfig) {
    super();
    this.actnorm = cfg.actnorm ? this.module("actnorm", new ActNorm(channels)) : null;
    this.invconv = this.module("invconv", cfg.lu ? new InvertibleConv1x1LU(channels) : new InvertibleConv1x1(channels));
    this.coupling = this.module("coupling", new Coupling(channels, { kind: cfg.coupling, scale: cfg.scale, net: cfg.net, hidden: cfg.hidden }));
    this.chain = new FlowChain([...(this.actnorm ? [this.actnorm] : []), this.invconv, this.coupling]);
  }

  forward(x: Tensor, codes?: FactoredCodes): [Tensor, Tensor] {
    return this.chain.forward(x, codes);
  }
  inverse(y: Tensor, codes?: FactoredCodes): [Tensor, Tensor] {
    return this.chain.inverse(y, codes);
  }
}

export class Glow extends Flow {
  readonly kind: "glow" | "cv-glow";
  readonly imageShape: readonly [number, number, number];
  /** The steps of each level (checkpoint names levels.<l>.<k>). */
  readonly levels: ModuleList<ModuleList<GlowStep>>;
  /** The learned priors of the factored-out halves (priors.<l>), null with a standard normal prior. */
  readonly priors: ModuleList<SplitPriorNet> | null;
  readonly topShape: [number, number, number];
  readonly chain: FlowChain;
  protected readonly topPrior: CodePrior;

  readonly config: GlowConfig;

  constructor(config: GlowConfig) {
    super();
    // Checked once here, so a typo or a missing field is an error naming it, not a default or a crash later.
    this.config = config = parseWith(glowConfigSchema, config, "Glow config");
    if (config.kind === "cv-glow" && config.coupling !== "additive") throw new Error("cv-glow needs additive coupling");
    this.kind = config.kind;
    this.imageShape = config.imageShape;
    let [c, h, w] = config.imageShape;
    this.levels = this.module("levels", new ModuleList<ModuleList<GlowStep>>());
    this.priors = config.learnedPrior ? this.module("priors", new ModuleList<SplitPriorNet>()) : null;
    // The chain in the order x meets it. Steps and prior nets are registered above under their checkpoint
    // names; the layers without tensors (centring, squeezes, splits) need no registration.
    const layers: FlowLayer[] = [new CenterPixels()];
    for (let l = 0; l < config.levels; l++) {
      if (h % 2 || w % 2) throw new Error(`Glow: ${config.levels} levels need H and W divisible by ${2 ** config.levels}, got ${config.imageShape}`);
      c *= 4;
      h /= 2;
      w /= 2;
      const steps = new ModuleList<GlowStep>();
      for (let k = 0; k < config.steps; k++) steps.push(new GlowStep(c, config));
      this.levels.push(steps);
      layers.push(new Squeeze(), ...steps);
      if (l < config.levels - 1) {
        c /= 2;
        const prior = this.priors ? this.priors.push(new SplitPriorNet(c)).get(-1).prior() : standardNormal;
        layers.push(new SplitWithPrior(prior));
      }
    }
    this.topShape = [c, h, w];
    this.chain = new FlowChain(layers);
    if (config.learnedPrior) {
      this.param("top_mean", torch.zeros([1, c, h, w]));
      this.param("top_logs", torch.zeros([1, c, h, w]));
      this.topPrior = new GaussianPrior(() => [this.getParameter("top_mean"), this.getParameter("top_logs")]);
    } else {
      this.topPrior = standardNormal;
    }
  }

  /** The K steps of a level, in order. */
  steps(level: number): GlowStep[] {
    return [...this.levels.get(level)];
  }
}

/** The model as a Glow or CV-Glow (for analyses given any model: a typed check, not a cast). */
export function glowOf(model: unknown): Glow {
  if (model instanceof Glow) return model;
  throw new Error(`expected a Glow or CV-Glow model, got ${model instanceof Flow ? model.kind : typeof model}`);
}
