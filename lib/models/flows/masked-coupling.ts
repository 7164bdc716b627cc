// RealNVP's affine coupling (Dinh et al. 2017) with a checkerboard or channel mask: the masked-in half
// conditions a residual network that gives the other half's log-scale and shift.
import * as torch from "../../tensor/index.js";
import { type Tensor } from "../../tensor/index.js";
import { Module, ModuleList, Conv2d, chain } from "../../nn/index.js";
import * as init from "../../nn/init.js";
import { type FlowLayer } from "./flow-layer.js";

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
export class ResNet extends Module {
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

export type MaskKind = "checkerboard" | "channel";

/** y = b*x + (1-b)*(x*exp(s) + t), with (s, t) from b*x; s = scale * tanh(raw). */
export class MaskedCoupling extends Module implements FlowLayer {
  readonly net: ResNet;
  constructor(
    readonly channels: number,
    readonly mask: MaskKind,
    readonly parity: 0 | 1,
    hidden: number,
    blocks: number,
  ) {
    super();
    const inC = mask === "channel" ? channels / 2 : channels;
    const outC = mask === "channel" ? channels : 2 * channels;
    this.net = this.module("net", new ResNet(inC, outC, hidden, blocks));
    this.param("scale", torch.ones([1, mask === "channel" ? channels / 2 : channels, 1, 1]));
  }

  private checkerboard(x: Tensor): Tensor {
    const [, , h, w] = x.shape as [number, number, number, number];
    const i = torch.arange(h, undefined, 1, { device: x.device }).view(h, 1),
      j = torch.arange(w, undefined, 1, { device: x.device }).view(1, w);
    return i.add(j).add(this.parity).remainder(2).to(x.dtype).view(1, 1, h, w);
  }

  private st(cond: Tensor): [Tensor, Tensor] {
    const h = this.net.forward(cond);
    const raw = h.slice(1, 0, null, 2),
      t = h.slice(1, 1, null, 2);
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
    const b = this.checkerboard(x),
      nb = b.rsub(1);
    const [sRaw, tRaw] = this.st(x.mul(b));
    const s = sRaw.mul(nb),
      t = tRaw.mul(nb);
    const y = sign > 0 ? x.mul(s.exp()).add(t) : x.sub(t).mul(s.neg().exp());
    return [y, s.flatten(1).sum(1).mul(sign)];
  }

  forward(x: Tensor): [Tensor, Tensor] {
    return this.apply(x, 1);
  }
  inverse(y: Tensor): [Tensor, Tensor] {
    return this.apply(y, -1);
  }
}
