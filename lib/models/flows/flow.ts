// What every multi-scale flow shares: a chain of flow layers from the image to the top code (the
// factored-out codes leaving on the way) and a prior on the top code. Encoding, decoding, the
// change-of-variables log-likelihood and sampling follow from those two; a model only builds them.
import * as torch from "../../tensor/index.js";
import { type Tensor } from "../../tensor/index.js";
import { Module } from "../../nn/index.js";
import { changeOfVariables } from "./ops.js";
import { type FlowChain } from "./chain.js";
import { FactoredCodes } from "./flow-layer.js";
import { SplitWithPrior, type CodePrior } from "./split.js";
import { type DensityModel, type LogLikelihood, type ModelKind, checkModelInput, checkSampleArgs, checkSamples, dimsOf, LOG256 } from "../density.js";

export abstract class Flow extends Module implements DensityModel {
  abstract readonly kind: ModelKind;
  abstract readonly imageShape: readonly [number, number, number];
  /** [C, H, W] of the top code. */
  abstract readonly topShape: readonly [number, number, number];
  /** The layers from an image in [0, 1] to the top code, preprocessing and splits included. */
  abstract readonly chain: FlowChain;
  /** The prior of the top code. */
  protected abstract readonly topPrior: CodePrior;

  /** Number of codes: one per split, then the top. */
  get numCodes(): number {
    return this.chain.layers.filter((l) => l instanceof SplitWithPrior).length + 1;
  }

  /**
   * x in [0, 1] -> codes (factored-out halves, then the top), log p(z) (in all, and of each code) and
   * log|det dz/dx|.
   */
  encode(x: Tensor): { zs: Tensor[]; logPz: Tensor; logPzLevels: Tensor[]; logDet: Tensor } {
    const codes = new FactoredCodes();
    const [top, logDet] = this.chain.forward(x, codes);
    const logPzTop = this.topPrior.logProb(top, null);
    return {
      zs: [...codes.zs, top],
      logPz: codes.logPz ? codes.logPz.add(logPzTop) : logPzTop,
      logPzLevels: [...codes.levelLogPz, logPzTop],
      logDet,
    };
  }

  /**
   * Codes -> images in [0, 1]. Missing codes (null, or none given) are drawn from their prior with its
   * standard deviation times `temperature`, the top first.
   */
  decode(zs: (Tensor | null)[] | null, n: number, temperature = 1): Tensor {
    const splits = this.numCodes - 1;
    const device = this.parameters()[0]!.device;
    const top = zs?.[splits] ?? this.topPrior.sample([n, ...this.topShape], null, temperature, device);
    const codes = new FactoredCodes(
      Array.from({ length: splits }, (_, i) => zs?.[i] ?? null),
      temperature,
    );
    return this.chain.inverse(top, codes)[0];
  }

  /** log p(x) = log p(z) + log|det| - D log 256 (the dequantized density turned discrete). */
  objective(x: Tensor): LogLikelihood {
    checkModelInput(this, x);
    const { logPz: pz, logPzLevels, logDet } = this.encode(x);
    const { logPx, logPz } = changeOfVariables(x, pz, logDet); // -Infinity, not NaN, far from the data
    return { logPx: logPx.sub(dimsOf(this.imageShape) * LOG256), logPz, logPzLevels, logDet };
  }

  logLikelihood(x: Tensor): LogLikelihood {
    return this.objective(x);
  }

  /** The images whose codes are zs (inverse(encode(x).zs) = x). */
  inverse(zs: Tensor[]): Tensor {
    return this.decode(zs, zs[0]!.shape[0]!);
  }

  sample(n: number, o: { temperature?: number } = {}): Tensor {
    const t = checkSampleArgs(this.kind, n, o);
    return checkSamples(
      this.kind,
      torch.noGrad(() => torch.tidy(() => this.decode(null, n, t).clamp(0, 1))),
      t,
    );
  }
}

/** The model as a Flow (an analysis of flows given any model: a typed check, not a cast). */
export function flowOf(model: unknown): Flow {
  if (model instanceof Flow) return model;
  const kind = typeof model === "object" && model !== null && "kind" in model ? String(model.kind) : typeof model;
  throw new Error(`expected a normalizing flow (Glow, CV-Glow, RealNVP), got ${kind}`);
}
