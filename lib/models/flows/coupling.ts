// Glow's coupling layer: the first half of the channels is transformed conditioned on the second half.
// Affine: ya = (xa + shift) * scale, with scale = sigmoid(raw + 2) (Glow's code, volume can only shrink)
// or exp(raw) (the paper's appendix D); log-det = sum log scale. Additive (CV-Glow): ya = xa + shift,
// log-det 0, so the whole flow's volume term is the same for every input.
import { type Tensor, cat } from "../../tensor/index.js";
import { Module, Conv2d, HighwayNetwork, Sequential, ReLU } from "../../nn/index.js";
import { type FlowLayer, zeroLogDet } from "./flow-layer.js";
import * as init from "../../nn/init.js";

export const COUPLING_KINDS = ["affine", "additive"] as const;
export const COUPLING_SCALES = ["sigmoid", "exp"] as const;
export const COUPLING_NETS = ["highway", "conv"] as const;
export type CouplingKind = (typeof COUPLING_KINDS)[number];
export type CouplingScale = (typeof COUPLING_SCALES)[number];
export type CouplingNet = (typeof COUPLING_NETS)[number];

export interface CouplingOptions {
  kind: CouplingKind;
  scale: CouplingScale;
  net: CouplingNet;
  hidden: number;
}

/** Glow's coupling network: conv3x3-ReLU-conv1x1-ReLU-conv3x3, the last layer zero-initialised. */
export function convCouplingNet(inC: number, outC: number, hidden: number): Module & { forward(x: Tensor): Tensor } {
  // Channels-last: the net is three convolutions back to back, where oneDNN's NHWC path pays (lib/nn/conv.ts).
  const cl = { channelsLast: true };
  const last = new Conv2d(hidden, outC, 3, { padding: 1, ...cl });
  init.zeros_(last.weight);
  init.zeros_(last.bias!);
  return new Sequential(new Conv2d(inC, hidden, 3, { padding: 1, ...cl }), new ReLU(), new Conv2d(hidden, hidden, 1, cl), new ReLU(), last);
}

export class Coupling extends Module implements FlowLayer {
  readonly net: Module & { forward(x: Tensor): Tensor };

  constructor(
    readonly channels: number,
    readonly o: CouplingOptions,
  ) {
    super();
    if (channels % 2) throw new Error(`coupling needs an even channel count, got ${channels}`);
    const half = channels / 2;
    const out = o.kind === "additive" ? half : channels;
    // The paper's network (3 highway layers) or Glow's; both end in a zero-initialised layer, so every
    // coupling starts as the identity.
    this.net = this.module("net", o.net === "highway" ? new HighwayNetwork(half, out, { hidden: o.hidden, layers: 3 }) : convCouplingNet(half, out, o.hidden));
  }

  /** shift and log scale of the first half, computed from the second. */
  private params(cond: Tensor): { shift: Tensor; logScale: Tensor | null } {
    const h = this.net.forward(cond);
    if (this.o.kind === "additive") return { shift: h, logScale: null };
    const shift = h.slice(1, 0, null, 2),
      raw = h.slice(1, 1, null, 2);
    return { shift, logScale: this.o.scale === "sigmoid" ? raw.add(2).logsigmoid() : raw };
  }

  forward(x: Tensor): [Tensor, Tensor] {
    const [xa, xb] = x.chunk(2, 1) as [Tensor, Tensor];
    const { shift, logScale } = this.params(xb);
    if (!logScale) return [torchCat(xa.add(shift), xb), zeroLogDet(x)];
    const ya = xa.add(shift).mul(logScale.exp());
    return [torchCat(ya, xb), logScale.flatten(1).sum(1)];
  }

  inverse(y: Tensor): [Tensor, Tensor] {
    const [ya, yb] = y.chunk(2, 1) as [Tensor, Tensor];
    const { shift, logScale } = this.params(yb);
    if (!logScale) return [torchCat(ya.sub(shift), yb), zeroLogDet(y)];
    const xa = ya.mul(logScale.neg().exp()).sub(shift);
    return [torchCat(xa, yb), logScale.flatten(1).sum(1).neg()];
  }
}

const torchCat = (a: Tensor, b: Tensor) => cat([a, b], 1);
