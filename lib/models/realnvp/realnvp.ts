// RealNVP (Dinh et al. 2017): logit preprocessing, affine couplings with checkerboard and channel masks,
// residual coupling networks, and batch normalisation with its log-det. Per scale: 3 checkerboard
// couplings, squeeze, 3 channel couplings, factor out half; the last scale has 4 checkerboard
// couplings. The model is that list of layers, one FlowChain.
import { ModuleList } from "../../nn/index.js";
import {
  FlowBatchNorm,
  FlowChain,
  FlowLayerList,
  LogitTransform,
  MaskedCoupling,
  Squeeze,
  SplitWithPrior,
  standardNormal,
  type CodePrior,
  type FlowLayer,
  type MaskKind,
} from "../flows/index.js";
import { Flow } from "../flows/flow.js";
import { realnvpConfigSchema, type RealNVPConfig } from "./config.js";
import { parseWith } from "../../schema.js";

export type { RealNVPConfig } from "./config.js";

export class RealNVP extends Flow {
  readonly kind = "realnvp" as const;
  readonly imageShape: readonly [number, number, number];
  /** Per scale: the couplings before the squeeze, those after it (empty at the last scale); checkpoint names pre.<s>.<i>, post.<s>.<i>. */
  readonly pre: ModuleList<FlowLayerList>;
  readonly post: ModuleList<FlowLayerList>;
  readonly topShape: [number, number, number];
  readonly chain: FlowChain;
  protected readonly topPrior: CodePrior = standardNormal;

  readonly config: RealNVPConfig;

  constructor(config: RealNVPConfig) {
    super();
    // Checked once here, so a typo or a missing field is an error naming it, not a default or a crash later.
    this.config = config = parseWith(realnvpConfigSchema, config, "RealNVP config");
    this.imageShape = config.imageShape;
    let [c, h, w] = config.imageShape;
    this.pre = this.module("pre", new ModuleList<FlowLayerList>());
    this.post = this.module("post", new ModuleList<FlowLayerList>());
    const add = (couplings: FlowLayerList, cc: number, mask: MaskKind, parity: 0 | 1) => {
      couplings.push(new MaskedCoupling(cc, mask, parity, config.hidden, config.blocks));
      if (config.batchNorm) couplings.push(new FlowBatchNorm(cc));
    };
    // Each scale's couplings are one layer of the chain (their log-dets summed per scale first), registered
    // as pre.<s>, post.<s>; the layers without tensors (logit, squeezes, splits) need no registration.
    const layers: FlowLayer[] = [new LogitTransform(config.alpha)];
    for (let s = 0; s < config.scales; s++) {
      const last = s === config.scales - 1;
      const pre = new FlowLayerList(),
        post = new FlowLayerList();
      for (let i = 0; i < (last ? 4 : 3); i++) add(pre, c, "checkerboard", (i % 2) as 0 | 1);
      layers.push(pre);
      if (!last) {
        if (h % 2 || w % 2) throw new Error(`RealNVP: ${config.scales} scales need H, W divisible by ${2 ** (config.scales - 1)}`);
        c *= 4;
        h /= 2;
        w /= 2;
        for (let i = 0; i < 3; i++) add(post, c, "channel", (i % 2) as 0 | 1);
        c /= 2;
        layers.push(new Squeeze(), post, new SplitWithPrior(standardNormal));
      }
      this.pre.push(pre);
      this.post.push(post);
    }
    this.topShape = [c, h, w];
    this.chain = new FlowChain(layers);
  }
}
