// Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders") as the
// paper's appendix A.2 uses it: p(x) = prod_i p(x_i | x_<i) over sub-pixels in raster order, R < G < B
// within a pixel, each conditional a 256-way softmax. log p(x) is exact and discrete.
//
// Two stacks remove the blind spot of the plain PixelCNN:
//   vertical stack:   at row r it sees every pixel of the rows above (a (k/2) x k or (k/2+1) x k kernel
//                     over rows r-k/2 .. r-1 of the image (mask A, first layer) or r-k/2 .. r of its
//                     own features (mask B), which themselves only see rows < r);
//   horizontal stack: at (r, c) it sees columns c-k/2 .. c of its own row, the pixel itself only through
//                     the channel groups allowed (mask A: earlier colours; mask B: earlier or the same),
//                     plus the vertical stack at (r, c) through a 1x1 link.
// Kernels cover only the rows/columns they may see (padding on one side), so no multiply is wasted on
// masked-out taps; only the pixel-itself taps carry a channel-group mask.
// Each layer: v = tanh(a) * sigmoid(b) of the vertical conv; h likewise of (horizontal conv + link(vertical
// pre-activation)); then a 1x1 conv back to `features` added to h (residual, all layers but the first)
// and a 1x1 conv into the skip layer (summed over layers). Output: ReLU -> 1x1 -> ReLU -> 1x1 to L*C logits.
//
// Channel groups: with C data channels every hidden layer's channels split into C contiguous blocks
// (sizes as equal as possible, so 128 or 1024 features work for RGB); block g of a layer may read block g'
// of the layer below at the same pixel when g' <= g (mask B) or g' < g (mask A, the first layer reading
// the image). The logits of colour c are block c of the last layer, so they never see colour c itself.
import * as torch from "../../tensor/index.js";
import { type Tensor } from "../../tensor/index.js";
import { Module, ModuleList } from "../../nn/index.js";
import { fanIn, kaimingUniform_, uniform_ } from "../../nn/init.js";
import { type DensityModel, type LogLikelihood, checkModelInput, checkSampleArgs } from "../density.js";
import { binCentres, categoricalLogLikelihood, categoricalLogProbs, centredInput, pixelValues, sampleCategorical } from "../discrete.js";
import { pixelcnnConfigSchema, type PixelCNNConfig } from "./config.js";
import { parseWith } from "../../schema.js";

export type { PixelCNNConfig } from "./config.js";

type MaskType = "A" | "B";

/** Group 0..G-1 of channel i of n: contiguous blocks of (nearly) equal size, R < G < B. */
export const channelGroup = (i: number, n: number, groups: number): number => Math.floor((i * groups) / n);

/**
 * A convolution whose kernel covers only what a stack may see, with zero padding on the sides it may
 * not: `pad` = [left, right, top, bottom] as F.pad. `centre` masks, per (out, in) channel pair, the taps
 * of the pixel itself (kernel position [rows-1, cols-1], the bottom-right tap) by channel group.
 */
class CausalConv extends Module {
  private readonly masked: boolean = false;
  constructor(
    inC: number,
    outC: number,
    readonly kh: number,
    readonly kw: number,
    readonly pad: [number, number, number, number],
    centre: { type: MaskType; groups: number; outGroupOf: (o: number) => number; inGroupOf: (i: number) => number } | null,
  ) {
    super();
    const w = this.param("weight", kaimingUniform_(torch.empty([outC, inC, kh, kw])));
    const bound = 1 / Math.sqrt(fanIn(w));
    this.param("bias", uniform_(torch.empty([outC]), -bound, bound));
    if (centre) {
      const m = new Float32Array(outC * inC * kh * kw).fill(1);
      let any = false;
      for (let o = 0; o < outC; o++)
        for (let i = 0; i < inC; i++) {
          const go = centre.outGroupOf(o),
            gi = centre.inGroupOf(i);
          const on = centre.type === "A" ? go > gi : go >= gi;
          if (!on) {
            m[((o * inC + i) * kh + kh - 1) * kw + kw - 1] = 0;
            any = true;
          }
        }
      if (any) {
        this.masked = true;
        const mask = this.buffer("mask", torch.tensor(m, { shape: [outC, inC, kh, kw] }), { persistent: false });
        torch.noGrad(() => w.mul_(mask));
      }
    }
  }
  get weight(): Tensor {
    return this.getParameter("weight");
  }
  get bias(): Tensor {
    return this.getParameter("bias");
  }

  forward(x: Tensor): Tensor {
    const w = this.masked ? this.weight.mul(this.getBuffer("mask")) : this.weight;
    const p = this.pad;
    const xp = p.some((v) => v !== 0) ? torch.pad(x, p) : x;
    return torch.conv2d(xp, w, this.bias);
  }
}

/** [B, 2F, H, W] laid out as [a; b] -> tanh(a) * sigmoid(b), [B, F, H, W]. */
function gate(x: Tensor): Tensor {
  const [a, b] = x.chunk(2, 1) as [Tensor, Tensor];
  return a.tanh().mul(b.sigmoid());
}

/** One gated layer of both stacks. */
class GatedLayer extends Module {
  readonly vertical: CausalConv;
  readonly horizontal: CausalConv;
  /** vertical pre-activation -> horizontal pre-activation (the vertical stack never sees row r: unmasked). */
  readonly link: CausalConv;
  readonly out: CausalConv;
  readonly toSkip: CausalConv;

  constructor(
    readonly first: boolean,
    inC: number,
    f: number,
    skip: number,
    k: number,
    groups: number,
  ) {
    super();
    const ch = k >> 1;
    const type: MaskType = first ? "A" : "B";
    // Outputs of the gated convs are [a; b]: channel o's group is that of o mod F among F.
    const gatedGroup = (o: number) => channelGroup(o % f, f, groups);
    const inGroup = (i: number) => channelGroup(i, inC, groups);
    const featGroup = (i: number) => channelGroup(i, f, groups);
    // Vertical: mask A covers rows r-ch..r-1 (kernel ch x k, padded ch above, one row cropped below);
    // mask B covers rows r-ch..r of features that see only rows < r (kernel (ch+1) x k).
    const vRows = first ? ch : ch + 1;
    this.vertical = this.module("vertical", new CausalConv(inC, 2 * f, vRows, k, [ch, ch, ch, first ? -1 : 0], null));
    // Horizontal: columns c-ch..c; the last tap is the pixel itself, masked by channel group.
    const centre = { type, groups, outGroupOf: gatedGroup, inGroupOf: inGroup };
    this.horizontal = this.module("horizontal", new CausalConv(inC, 2 * f, 1, ch + 1, [ch, 0, 0, 0], centre));
    this.link = this.module("link", new CausalConv(2 * f, 2 * f, 1, 1, [0, 0, 0, 0], null));
    const b = { type: "B" as const, groups, inGroupOf: featGroup };
    this.out = this.module("out", new CausalConv(f, f, 1, 1, [0, 0, 0, 0], { ...b, outGroupOf: featGroup }));
    this.toSkip = this.module("skip", new CausalConv(f, skip, 1, 1, [0, 0, 0, 0], { ...b, outGroupOf: (o) => channelGroup(o, skip, groups) }));
  }

  /** (v, h) -> (v', h', contribution to the skip layer). */
  forward(v: Tensor, h: Tensor): [Tensor, Tensor, Tensor] {
    const vPre = this.vertical.forward(v);
    const hPre = this.horizontal.forward(h).add(this.link.forward(vPre));
    const hGated = gate(hPre);
    const hOut = this.out.forward(hGated);
    return [gate(vPre), this.first ? hOut : h.add(hOut), this.toSkip.forward(hGated)];
  }
}

export class PixelCNN extends Module implements DensityModel {
  readonly kind = "pixelcnn" as const;
  readonly imageShape: readonly [number, number, number];
  readonly levels: number;
  readonly layers: ModuleList<GatedLayer>;
  readonly head1: CausalConv;
  readonly head2: CausalConv;

  readonly config: PixelCNNConfig;

  constructor(config: PixelCNNConfig) {
    super();
    // Checked once here, so a typo or a missing field is an error naming it, not a default or a crash later.
    this.config = config = parseWith(pixelcnnConfigSchema, config, "PixelCNN config");
    const [c] = (this.imageShape = config.imageShape);
    const { features: f, skip } = config;
    const levels = (this.levels = config.levels ?? 256);
    const k = config.kernel ?? 3,
      k0 = config.firstKernel ?? 7;
    if (k % 2 === 0 || k0 % 2 === 0 || k < 3 || k0 < 3) throw new Error(`PixelCNN: kernels must be odd and >= 3, got ${k0} and ${k}`);
    if (config.layers < 1) throw new Error(`PixelCNN: needs at least one gated layer, got ${config.layers}`);
    if (f < c || skip < c) throw new Error(`PixelCNN: features (${f}) and skip (${skip}) must be at least the ${c} colour channels`);
    if (levels < 2) throw new Error(`PixelCNN: levels must be at least 2, got ${levels}`);
    this.layers = this.module("layers", new ModuleList<GatedLayer>());
    for (let i = 0; i < config.layers; i++) this.layers.push(new GatedLayer(i === 0, i === 0 ? c : f, f, skip, i === 0 ? k0 : k, c));
    const sg = (o: number) => channelGroup(o, skip, c);
    this.head1 = this.module("head1", new CausalConv(skip, skip, 1, 1, [0, 0, 0, 0], { type: "B", groups: c, outGroupOf: sg, inGroupOf: sg }));
    // Logits of colour g are channels [g L, (g+1) L): group g of the last layer.
    this.head2 = this.module(
      "head2",
      new CausalConv(skip, levels * c, 1, 1, [0, 0, 0, 0], { type: "B", groups: c, outGroupOf: (o) => Math.floor(o / levels), inGroupOf: sg }),
    );
  }

  /**
   * The network on a continuous input [B, C, H, W] (pixel values scaled to [-1, 1]) -> logits
   * [B, C*L, H, W]; the logits at a sub-pixel depend only on the sub-pixels before it.
   */
  logits(input: Tensor): Tensor {
    return torch.tidy(() => {
      // Each layer's temporaries are freed as soon as it returns, and the previous layer's outputs once
      // used (autograd keeps what backward needs): evaluating large batches needs a few maps, not all.
      let v = input,
        h = input,
        skip: Tensor | null = null;
      for (const layer of this.layers) {
        const [v2, h2, s] = torch.tidy(() => layer.forward(v, h));
        if (v !== input) torch.dispose([v, h]);
        if (skip) {
          const sum: Tensor = skip.add(s);
          torch.dispose([skip, s]);
          skip = sum;
        } else skip = s;
        v = v2;
        h = h2;
      }
      return torch.tidy(() => this.head2.forward(torch.tidy(() => this.head1.forward(skip!.relu()).relu())));
    });
  }

  objective(x: Tensor): LogLikelihood {
    checkModelInput(this, x);
    return torch.tidy(() => {
      const values = pixelValues(x, this.levels);
      return { logPx: categoricalLogLikelihood(this.logits(centredInput(values, this.levels)), values, this.levels) };
    });
  }

  logLikelihood(x: Tensor): LogLikelihood {
    return this.objective(x);
  }

  /** [B, C, L, H, W] log-probabilities of every value of every sub-pixel given the sub-pixels before it. */
  conditionals(x: Tensor): Tensor {
    return torch.tidy(() => {
      const values = pixelValues(x, this.levels);
      return categoricalLogProbs(this.logits(centredInput(values, this.levels)), this.imageShape[0], this.levels);
    });
  }

  /**
   * Ancestral sampling, one sub-pixel at a time (H*W*C network passes). Row r depends only on rows <= r,
   * so each pass runs on the rows generated so far. temperature divides the logits.
   */
  sample(n: number, o: { temperature?: number } = {}): Tensor {
    checkSampleArgs(this.kind, n, o);
    const [c, hh, ww] = this.imageShape;
    const L = this.levels;
    const device = this.head2.weight.device;
    return torch.noGrad(() => {
      const values = torch.zeros([n, c, hh, ww], { device }).keep();
      try {
        for (let r = 0; r < hh; r++)
          for (let col = 0; col < ww; col++)
            for (let ch = 0; ch < c; ch++)
              torch.tidy(() => {
                const top = values.narrow(2, 0, r + 1);
                const logits = this.logits(centredInput(top, L)); // [n, C*L, r+1, W]
                const at = logits
                  .select(3, col)
                  .select(2, r)
                  .narrow(1, ch * L, L); // [n, L]
                values
                  .select(1, ch)
                  .select(1, r)
                  .select(1, col)
                  .copy_(sampleCategorical(at, 1, o.temperature ?? 1));
              });
        return torch.tidy(() => binCentres(values, L));
      } finally {
        values.dispose();
      }
    });
  }
}
