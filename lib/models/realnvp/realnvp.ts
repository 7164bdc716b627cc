// RealNVP (Dinh et al. 2017): logit preprocessing, multi-scale affine couplings with checkerboard and
// channel masks, residual coupling networks, and batch normalisation with its log-det. Per scale:
// 3 checkerboard couplings, squeeze, 3 channel couplings, factor out half; the last scale has 4
// checkerboard couplings.
import * as torch from "../../tensor/index.js";
import { type Tensor } from "../../tensor/index.js";
import { Module, ModuleList, Conv2d, chain } from "../../nn/index.js";
import { type FlowLayer } from "../flows/flow-layer.js";
import * as init from "../../nn/init.js";
import { FlowBatchNorm } from "../flows/batchnorm.js";
import { squeeze2d, standardNormalLogProb, unsqueeze2d } from "../flows/ops.js";
import { Flow } from "../flows/flow.js";

export interface RealNVPConfig {
  kind: "realnvp";
  imageShape: [number, number, number];
  /** Number of scales; all but the last squeeze and factor out half. */
  scales: number;
  hidden: number;
  /** Residual blocks per coupling network. */
  blocks: number;
  /** Logit preprocessing: logit(alpha + (1 - 2 alpha) x). */
  alpha: number;
  batchNorm: boolean;
}

class ResidualBlock extends Module {
  readonly a: Conv2d;
  readonly b: Conv2d;
  constructor(c: number) {
    super();
    this.a = this.module("a", new Conv2d(c, c, 3, { padding: 1 }));
    this.b = this.module("b", new Conv2d(c, c, 3, { padding: 1 }));
  }
  forward(x: Tensor): Tensor {
    return x.add(this.b.forward(this.a.forward(x.relu()).relu_())); // a convolution's output can be overwritten
  }
}

/** The residual network that gives a coupling's log-scale and shift. */
class ResNet extends Module {
  readonly input: Conv2d;
  readonly blocks: ModuleList<ResidualBlock>;
  readonly output: Conv2d;
  constructor(inC: number, outC: number, hidden: number, blocks: number) {
    super();
    this.input = this.module("input", new Conv2d(inC, hidden, 3, { padding: 1 }));
    this.blocks = this.module("blocks", new ModuleList<ResidualBlock>());
    for (let i = 0; i < blocks; i++) this.blocks.push(new ResidualBlock(hidden));
    this.output = this.module("output", new Conv2d(hidden, outC, 3, { padding: 1 }));
    init.zeros_(this.output.weight); // each coupling starts as the identity
    init.zeros_(this.output.bias!);
  }
  forward(x: Tensor): Tensor {
    return chain(x, [this.input, ...this.blocks, (h) => this.output.forward(h.relu())]);
  }
}

type MaskKind = "checkerboard" | "channel";

/** y = b*x + (1-b)*(x*exp(s) + t), with (s, t) from b*x; s = scale * tanh(raw). */
class MaskedCoupling extends Module implements FlowLayer {
  readonly net: ResNet;
  constructor(readonly channels: number, readonly mask: MaskKind, readonly parity: 0 | 1, hidden: number, blocks: number) {
    super();
    const inC = mask === "channel" ? channels / 2 : channels;
    const outC = mask === "channel" ? channels : 2 * channels;
    this.net = this.module("net", new ResNet(inC, outC, hidden, blocks));
    this.param("scale", torch.ones([1, mask === "channel" ? channels / 2 : channels, 1, 1]));
  }

  private checkerboard(x: Tensor): Tensor {
    const [, , h, w] = x.shape as [number, number, number, number];
    const i = torch.arange(h, undefined, 1, { device: x.device }).view(h, 1), j = torch.arange(w, undefined, 1, { device: x.device }).view(1, w);
    return i.add(j).add(this.parity).remainder(2).to(x.dtype).view(1, 1, h, w);
  }

  private st(cond: Tensor): [Tensor, Tensor] {
    const h = this.net.forward(cond);
    const raw = h.slice(1, 0, null, 2), t = h.slice(1, 1, null, 2);
    return [raw.tanh().mul(this.getParameter("scale")), t];
  }

  private apply(x: Tensor, sign: 1 | -1): [Tensor, Tensor] {
    if (this.mask === "channel") {
      const [a, b] = x.chunk(2, 1) as [Tensor, Tensor];
      const [fixed, moving] = this.parity === 0 ? [a, b] : [b, a];
      const [s, t] = this.st(fixed);
      const moved = sign > 0 ? moving.mul(s.exp()).add(t) : moving.sub(t).mul(s.neg().exp());
      const y = this.parity === 0 ? torch.cat([fixed, moved], 1) : torch.cat([moved, fixed], 1);
      return [y, s.flatten(1).sum(1).mul(sign)];
    }
    const b = this.checkerboard(x), nb = b.rsub(1);
    const [sRaw, tRaw] = this.st(x.mul(b));
    const s = sRaw.mul(nb), t = tRaw.mul(nb);
    const y = sign > 0 ? x.mul(s.exp()).add(t) : x.sub(t).mul(s.neg().exp());
    return [y, s.flatten(1).sum(1).mul(sign)];
  }

  forward(x: Tensor): [Tensor, Tensor] { return this.apply(x, 1); }
  inverse(y: Tensor): [Tensor, Tensor] { return this.apply(y, -1); }
}

/** A list of flow layers applied in order (inverse in reverse). */
class FlowChain extends ModuleList<Module & FlowLayer> {
  forward(x: Tensor): [Tensor, Tensor] {
    let ld: Tensor | null = null;
    for (const l of this) { const [y, d] = l.forward(x); x = y; ld = ld ? ld.add(d) : d; }
    return [x, ld!];
  }
  inverse(y: Tensor): [Tensor, Tensor] {
    const ls = [...this];
    let ld: Tensor | null = null;
    for (let i = ls.length - 1; i >= 0; i--) { const [x, d] = ls[i]!.inverse(y); y = x; ld = ld ? ld.add(d) : d; }
    return [y, ld!];
  }
}

export class RealNVP extends Flow {
  readonly kind = "realnvp" as const;
  readonly imageShape: readonly [number, number, number];
  /** Per scale: layers before the squeeze, layers after it (empty at the last scale). */
  readonly pre: ModuleList<FlowChain>;
  readonly post: ModuleList<FlowChain>;
  readonly topShape: [number, number, number];

  constructor(readonly config: RealNVPConfig) {
    super();
    this.imageShape = config.imageShape;
    let [c, h, w] = config.imageShape;
    this.pre = this.module("pre", new ModuleList<FlowChain>());
    this.post = this.module("post", new ModuleList<FlowChain>());
    const add = (chain: FlowChain, cc: number, mask: MaskKind, parity: 0 | 1) => {
      chain.push(new MaskedCoupling(cc, mask, parity, config.hidden, config.blocks));
      if (config.batchNorm) chain.push(new FlowBatchNorm(cc));
    };
    for (let s = 0; s < config.scales; s++) {
      const last = s === config.scales - 1;
      const pre = new FlowChain(), post = new FlowChain();
      for (let i = 0; i < (last ? 4 : 3); i++) add(pre, c, "checkerboard", (i % 2) as 0 | 1);
      if (!last) {
        if (h % 2 || w % 2) throw new Error(`RealNVP: ${config.scales} scales need H, W divisible by ${2 ** (config.scales - 1)}`);
        c *= 4; h /= 2; w /= 2;
        for (let i = 0; i < 3; i++) add(post, c, "channel", (i % 2) as 0 | 1);
        c /= 2;
      }
      this.pre.push(pre);
      this.post.push(post);
    }
    this.topShape = [c, h, w];
  }

  /** x in [0, 1] -> logit space, with the log-det of that map. */
  private preprocess(x: Tensor): [Tensor, Tensor] {
    const a = this.config.alpha;
    const p = x.mul(1 - 2 * a).add(a);
    const y = p.log().sub(p.rsub(1).log());
    // d/dx logit(a + (1-2a)x) = (1-2a) / (p (1-p))
    const ld = p.log().add(p.rsub(1).log()).neg().add(Math.log(1 - 2 * a)).flatten(1).sum(1);
    return [y, ld];
  }

  encode(x: Tensor): { zs: Tensor[]; logPz: Tensor; logDet: Tensor } {
    let [h, logDet] = this.preprocess(x);
    const zs: Tensor[] = [];
    let logPz: Tensor | null = null;
    const S = this.config.scales;
    for (let s = 0; s < S; s++) {
      let [y, ld] = this.pre.get(s).forward(h);
      logDet = logDet.add(ld);
      h = y;
      if (s < S - 1) {
        h = squeeze2d(h);
        [y, ld] = this.post.get(s).forward(h);
        logDet = logDet.add(ld);
        const [kept, z] = y.chunk(2, 1) as [Tensor, Tensor];
        zs.push(z);
        logPz = logPz ? logPz.add(standardNormalLogProb(z)) : standardNormalLogProb(z);
        h = kept;
      }
    }
    zs.push(h);
    const top = standardNormalLogProb(h);
    return { zs, logPz: logPz ? logPz.add(top) : top, logDet };
  }

  decode(zs: (Tensor | null)[] | null, n: number, temperature = 1): Tensor {
    const S = this.config.scales;
    const device = this.parameters()[0]!.device;
    let h = zs?.[S - 1] ?? torch.randn([n, ...this.topShape], { device }).mul(temperature);
    for (let s = S - 1; s >= 0; s--) {
      if (s < S - 1) {
        const z = zs?.[s] ?? torch.randnLike(h).mul(temperature);
        h = this.post.get(s).inverse(torch.cat([h, z], 1))[0];
        h = unsqueeze2d(h);
      }
      h = this.pre.get(s).inverse(h)[0];
    }
    // inverse of the logit preprocessing
    return h.sigmoid().sub(this.config.alpha).div(1 - 2 * this.config.alpha);
  }
}
