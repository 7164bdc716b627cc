// PixelCNN's masked convolution (van den Oord et al. 2016): the kernel is multiplied by a 0/1 mask so the
// output at a pixel sees only pixels before it in raster order (rows above, then columns to the left).
// Mask 'A' (first layer) also hides the pixel itself; mask 'B' (later layers) lets it through.
// With dataChannels = 3 the channels split into R, G, B groups (contiguous thirds) ordered R < G < B: at
// the centre, an output group sees input groups before it (A) or up to and including it (B).
import { Tensor, tidy } from "../tensor/tensor.js";
import { empty, tensor, type TensorOptions } from "../tensor/creation.js";
import { noGrad } from "../tensor/autograd.js";
import { conv2d } from "../tensor/functional.js";
import { Module } from "./module.js";
import { type Pair } from "./conv.js";
import { fanIn, kaimingUniform_, uniform_ } from "./init.js";

export type MaskType = "A" | "B";
/**
 * "full": the raster-order mask above. Gated PixelCNN's two stacks: "horizontal" keeps only the centre
 * row of the full mask; "vertical" keeps the rows above the centre, plus (mask B) the whole centre row,
 * so a vertical stack must shift its output down one row before it feeds a horizontal stack.
 */
export type MaskStack = "full" | "vertical" | "horizontal";

export interface MaskedConv2dOptions extends Pick<TensorOptions, "dtype" | "device"> {
  maskType: MaskType;
  /** Channel groups that are generated in order (3 for RGB, default 1). */
  dataChannels?: number;
  stack?: MaskStack;
  bias?: boolean;
}

/** The [out, in, kh, kw] 0/1 mask as a flat Float32Array. */
export function pixelCnnMask(outC: number, inC: number, kh: number, kw: number, type: MaskType, groups = 1, stack: MaskStack = "full"): Float32Array {
  if (kh % 2 === 0 || kw % 2 === 0) throw new Error(`MaskedConv2d: needs an odd kernel, got ${kh}x${kw}`);
  if (inC % groups || outC % groups) throw new Error(`MaskedConv2d: channels ${inC}->${outC} must divide into ${groups} groups`);
  const ch = kh >> 1,
    cw = kw >> 1;
  const groupOf = (c: number, n: number) => Math.floor(c / (n / groups));
  const m = new Float32Array(outC * inC * kh * kw);
  for (let o = 0; o < outC; o++)
    for (let i = 0; i < inC; i++) {
      const centre = type === "A" ? groupOf(o, outC) > groupOf(i, inC) : groupOf(o, outC) >= groupOf(i, inC);
      for (let r = 0; r < kh; r++)
        for (let c = 0; c < kw; c++) {
          let on: boolean;
          if (stack === "vertical") on = r < ch || (type === "B" && r === ch);
          else if (r !== ch) on = stack === "full" && r < ch;
          else on = c < cw || (c === cw && centre);
          m[((o * inC + i) * kh + r) * kw + c] = on ? 1 : 0;
        }
    }
  return m;
}

export class MaskedConv2d extends Module {
  readonly kernelSize: [number, number];
  readonly padding: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    readonly options: MaskedConv2dOptions,
  ) {
    super();
    const [kh, kw] = (this.kernelSize = typeof kernelSize === "number" ? [kernelSize, kernelSize] : kernelSize);
    this.padding = [kh >> 1, kw >> 1];
    const o = options;
    const f = { dtype: o.dtype ?? "float32", device: o.device };
    const mask = pixelCnnMask(outChannels, inChannels, kh, kw, o.maskType, o.dataChannels ?? 1, o.stack ?? "full");
    this.buffer("mask", tensor(mask, { shape: [outChannels, inChannels, kh, kw], ...f }), { persistent: false });
    const w = this.param("weight", kaimingUniform_(empty([outChannels, inChannels, kh, kw], f)));
    // Masked-out weights start at zero (forward masks them anyway, so they never act).
    noGrad(() => w.mul_(this.getBuffer("mask")));
    if (o.bias ?? true) {
      const bound = 1 / Math.sqrt(fanIn(w));
      this.param("bias", uniform_(empty([outChannels], f), -bound, bound));
    }
  }
  get weight(): Tensor {
    return this.getParameter("weight");
  }
  get bias(): Tensor | null {
    return this.findParameter("bias");
  }
  get mask(): Tensor {
    return this.getBuffer("mask");
  }

  forward(x: Tensor): Tensor {
    return tidy(() => conv2d(x, this.weight.mul(this.mask), this.bias, { padding: this.padding }));
  }
}
