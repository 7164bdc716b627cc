// Glow (Kingma & Dhariwal 2018) as the paper's appendix A.1 uses it, and CV-Glow (additive coupling,
// so the log-det is the same for every input). Multi-scale: per level, squeeze, K steps of
// [ActNorm] -> invertible 1x1 convolution -> coupling, then half the channels are factored out
// under the prior.
import * as torch from "../../tensor/index.js";
import { type Tensor } from "../../tensor/index.js";
import { Module, ModuleList, Conv2d } from "../../nn/index.js";
import { ActNorm, InvertibleConv1x1, InvertibleConv1x1LU, type FlowLayer } from "../flows/index.js";
import * as init from "../../nn/init.js";
import { Coupling, type CouplingKind, type CouplingNet, type CouplingScale } from "../flows/coupling.js";
import { gaussianLogProb, squeeze2d, standardNormalLogProb, unsqueeze2d } from "../flows/ops.js";
import { Flow } from "../flows/flow.js";

export interface GlowConfig {
  kind: "glow" | "cv-glow";
  imageShape: [number, number, number];
  /** Levels L (each squeezes by 2; all but the last factor out half the channels). */
  levels: number;
  /** Steps K per level. */
  steps: number;
  /** Width of the coupling networks. */
  hidden: number;
  coupling: CouplingKind;
  scale: CouplingScale;
  net: CouplingNet;
  actnorm: boolean;
  /** LU-decomposed 1x1 convolutions. */
  lu: boolean;
  /** Learned prior (Glow's split priors and learned top) instead of a standard normal everywhere. */
  learnedPrior: boolean;
}

/** One step of flow: [ActNorm] -> 1x1 convolution -> coupling. */
class FlowStep extends Module implements FlowLayer {
  private readonly layers: FlowLayer[] = [];
  constructor(c: number, cfg: GlowConfig) {
    super();
    if (cfg.actnorm) this.layers.push(this.module("actnorm", new ActNorm(c)));
    this.layers.push(this.module("invconv", cfg.lu ? new InvertibleConv1x1LU(c) : new InvertibleConv1x1(c)));
    this.layers.push(this.module("coupling", new Coupling(c, { kind: cfg.coupling, scale: cfg.scale, net: cfg.net, hidden: cfg.hidden })));
  }
  forward(x: Tensor): [Tensor, Tensor] {
    let logDet: Tensor | null = null;
    for (const l of this.layers) {
      const [y, ld] = l.forward(x);
      x = y;
      logDet = logDet ? logDet.add(ld) : ld;
    }
    return [x, logDet!];
  }
  inverse(y: Tensor): [Tensor, Tensor] {
    let logDet: Tensor | null = null;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const [x, ld] = this.layers[i]!.inverse(y);
      y = x;
      logDet = logDet ? logDet.add(ld) : ld;
    }
    return [y, logDet!];
  }
}

/** Glow's learned prior for a factored-out half: mean and log-std predicted from the kept half. */
class SplitPrior extends Module {
  readonly conv: Conv2d;
  constructor(c: number) {
    super();
    this.conv = this.module("conv", new Conv2d(c, 2 * c, 3, { padding: 1 }));
    init.zeros_(this.conv.weight);
    init.zeros_(this.conv.bias!);
  }
  params(kept: Tensor): [Tensor, Tensor] {
    const h = this.conv.forward(kept);
    return [h.slice(1, 0, null, 2), h.slice(1, 1, null, 2)];
  }
}

export class Glow extends Flow {
  readonly kind: "glow" | "cv-glow";
  readonly imageShape: readonly [number, number, number];
  readonly levels: ModuleList<ModuleList<FlowStep>>;
  readonly priors: ModuleList<SplitPrior> | null;
  /** [C, H, W] of the code at the top level. */
  readonly topShape: [number, number, number];

  constructor(readonly config: GlowConfig) {
    super();
    if (config.kind === "cv-glow" && config.coupling !== "additive") throw new Error("cv-glow needs additive coupling");
    this.kind = config.kind;
    this.imageShape = config.imageShape;
    let [c, h, w] = config.imageShape;
    this.levels = this.module("levels", new ModuleList<ModuleList<FlowStep>>());
    this.priors = config.learnedPrior ? this.module("priors", new ModuleList<SplitPrior>()) : null;
    for (let l = 0; l < config.levels; l++) {
      if (h % 2 || w % 2) throw new Error(`Glow: ${config.levels} levels need H and W divisible by ${2 ** config.levels}, got ${config.imageShape}`);
      c *= 4; h /= 2; w /= 2;
      const steps = new ModuleList<FlowStep>();
      for (let k = 0; k < config.steps; k++) steps.push(new FlowStep(c, config));
      this.levels.push(steps);
      if (l < config.levels - 1) {
        c /= 2;
        this.priors?.push(new SplitPrior(c));
      }
    }
    this.topShape = [c, h, w];
    if (config.learnedPrior) {
      this.param("top_mean", torch.zeros([1, c, h, w]));
      this.param("top_logs", torch.zeros([1, c, h, w]));
    }
  }

  private logPrior(z: Tensor, level: number, kept: Tensor | null): Tensor {
    if (!this.config.learnedPrior) return standardNormalLogProb(z);
    if (kept) {
      const [mean, logs] = this.priors!.get(level).params(kept);
      return gaussianLogProb(z, mean, logs);
    }
    return gaussianLogProb(z, this.getParameter("top_mean"), this.getParameter("top_logs"));
  }

  /** x in [0, 1] -> codes (factored-out halves, then the top), log p(z) and log|det|. */
  encode(x: Tensor): { zs: Tensor[]; logPz: Tensor; logDet: Tensor } {
    let h = x.sub(0.5);
    let logDet: Tensor | null = null, logPz: Tensor | null = null;
    const zs: Tensor[] = [];
    const L = this.config.levels;
    for (let l = 0; l < L; l++) {
      h = squeeze2d(h);
      for (const step of this.levels.get(l)) {
        const [y, ld] = step.forward(h);
        h = y;
        logDet = logDet ? logDet.add(ld) : ld;
      }
      if (l < L - 1) {
        const [kept, z] = h.chunk(2, 1) as [Tensor, Tensor];
        const lp = this.logPrior(z, l, kept);
        logPz = logPz ? logPz.add(lp) : lp;
        zs.push(z);
        h = kept;
      }
    }
    const top = this.logPrior(h, L - 1, null);
    zs.push(h);
    return { zs, logPz: logPz ? logPz.add(top) : top, logDet: logDet! };
  }

  /**
   * Codes -> images in [0, 1]. Missing codes (null, or none given) are drawn from the prior with its
   * standard deviation times `temperature`.
   */
  decode(zs: (Tensor | null)[] | null, n: number, temperature = 1): Tensor {
    const L = this.config.levels;
    const device = this.parameters()[0]!.device;
    const draw = (mean: Tensor | null, logs: Tensor | null, shape: number[]) => {
      const e = torch.randn(shape, { device }).mul(temperature);
      return mean && logs ? e.mul(logs.exp()).add(mean) : e;
    };
    const [tc, th, tw] = this.topShape;
    let h = zs?.[L - 1] ?? (this.config.learnedPrior
      ? draw(this.getParameter("top_mean"), this.getParameter("top_logs"), [n, tc, th, tw])
      : draw(null, null, [n, tc, th, tw]));
    for (let l = L - 1; l >= 0; l--) {
      if (l < L - 1) {
        let z = zs?.[l] ?? null;
        if (!z) {
          const [, c, hh, ww] = h.shape as [number, number, number, number];
          z = this.config.learnedPrior ? draw(...this.priors!.get(l).params(h), [n, c, hh, ww]) : draw(null, null, [n, c, hh, ww]);
        }
        h = torch.cat([h, z], 1);
      }
      const steps = [...this.levels.get(l)];
      for (let k = steps.length - 1; k >= 0; k--) h = steps[k]!.inverse(h)[0];
      h = unsqueeze2d(h);
    }
    return h.add(0.5);
  }
}
