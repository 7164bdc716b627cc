// Conv2d and ConvTranspose2d with PyTorch's parameter layout and default initialisation.
import { Tensor } from "../tensor/tensor.js";
import { empty, type TensorOptions } from "../tensor/creation.js";
import { conv2d, convTranspose2d } from "../tensor/functional.js";
import { Module } from "./module.js";
import { O } from "../tensor/ops.js";
import { fanIn, kaimingUniform_, uniform_ } from "./init.js";

export type Pair = number | [number, number];
const two = (p: Pair): [number, number] => (typeof p === "number" ? [p, p] : p);

export interface Conv2dOptions extends Pick<TensorOptions, "dtype" | "device"> {
  stride?: Pair;
  /** Zero padding per side, or "same" (odd kernels, stride 1): the output keeps the input's height and width. */
  padding?: Pair | "same";
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  /**
   * Run on the CPU with the input and weight laid out channels-last (NHWC), oneDNN's faster path. It pays
   * where convolutions dominate and follow one another (a Glow's coupling nets: 12-13% off its step) and
   * costs where other ops sit between them (RealNVP's and the VAE's steps: 1-5% slower), so it is asked
   * for, not the default (bench/conv_layout_models.mjs, BENCHMARKS.md).
   */
  channelsLast?: boolean;
}

/** Padding that keeps the spatial size for an odd kernel at stride 1: dilation*(k-1)/2 per side. */
export function samePadding(kernel: Pair, dilation: Pair = 1): [number, number] {
  const [kh, kw] = two(kernel);
  const [dh, dw] = two(dilation);
  if (kh % 2 === 0 || kw % 2 === 0) throw new Error(`padding "same" needs an odd kernel, got ${kh}x${kw}`);
  return [(dh * (kh - 1)) / 2, (dw * (kw - 1)) / 2];
}

/** kaiming_uniform(a=√5) weights and U(±1/√fan_in) bias: what torch.nn.Conv2d starts from. */
function defaultInit(w: Tensor, b: Tensor | null): void {
  kaimingUniform_(w);
  if (b) {
    const bound = 1 / Math.sqrt(fanIn(w));
    uniform_(b, -bound, bound);
  }
}

export class Conv2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly channelsLast: boolean;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    o: Conv2dOptions = {},
  ) {
    super();
    this.kernelSize = two(kernelSize);
    this.stride = two(o.stride ?? 1);
    this.dilation = two(o.dilation ?? 1);
    this.groups = o.groups ?? 1;
    this.channelsLast = o.channelsLast ?? false;
    if (o.padding === "same") {
      if (this.stride[0] !== 1 || this.stride[1] !== 1) throw new Error(`Conv2d: padding "same" needs stride 1`);
      this.padding = samePadding(this.kernelSize, this.dilation);
    } else this.padding = two(o.padding ?? 0);
    if (inChannels % this.groups || outChannels % this.groups)
      throw new Error(`Conv2d: channels ${inChannels}->${outChannels} do not divide into ${this.groups} groups`);
    const f = { dtype: o.dtype, device: o.device };
    const w = this.param("weight", empty([outChannels, inChannels / this.groups, ...this.kernelSize], f));
    const b = (o.bias ?? true) ? this.param("bias", empty([outChannels], f)) : null;
    defaultInit(w, b);
  }
  get weight(): Tensor {
    return this.getParameter("weight");
  }
  get bias(): Tensor | null {
    return this.findParameter("bias");
  }

  forward(x: Tensor): Tensor {
    const o = { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
    if (this.channelsLast && x.ndim === 4 && x.device === "cpu") return conv2d(channelsLast(x), channelsLast(this.weight), this.bias, o);
    return conv2d(x, this.weight, this.bias, o);
  }
}

// `channelsLast`: on the CPU, oneDNN's convolutions run much faster on channels-last (NHWC) inputs and
// weights than on NCHW ones, about half the time for a Glow coupling net's 1x1 and 3x3 convs at batch 32
// (BENCHMARKS.md). The weight stays an NCHW parameter (checkpoints and optimizers see no change) and is laid
// out per call, a copy the size of the weight; the output comes out channels-last, which later ops take as
// it is (a view of it needs reshape, as any non-contiguous tensor).
const CHANNELS_LAST = 2; // c10::MemoryFormat::ChannelsLast
const channelsLast = (t: Tensor): Tensor => O.contiguous(t, CHANNELS_LAST);

export interface ConvTranspose2dOptions extends Pick<TensorOptions, "dtype" | "device"> {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** Transposed convolution; weight [in, out/groups, kh, kw] as PyTorch. */
export class ConvTranspose2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    o: ConvTranspose2dOptions = {},
  ) {
    super();
    this.kernelSize = two(kernelSize);
    this.stride = two(o.stride ?? 1);
    this.padding = two(o.padding ?? 0);
    this.outputPadding = two(o.outputPadding ?? 0);
    this.dilation = two(o.dilation ?? 1);
    this.groups = o.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups)
      throw new Error(`ConvTranspose2d: channels ${inChannels}->${outChannels} do not divide into ${this.groups} groups`);
    const f = { dtype: o.dtype, device: o.device };
    const w = this.param("weight", empty([inChannels, outChannels / this.groups, ...this.kernelSize], f));
    const b = (o.bias ?? true) ? this.param("bias", empty([outChannels], f)) : null;
    defaultInit(w, b);
  }
  get weight(): Tensor {
    return this.getParameter("weight");
  }
  get bias(): Tensor | null {
    return this.findParameter("bias");
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}
