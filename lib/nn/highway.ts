// The paper's coupling network (Nalisnick et al. 2019, appendix): a highway network of convolutions.
// in-conv (to the hidden width) -> ReLU -> 3 highway layers -> zero-initialised out-conv, so every
// coupling layer starts as the identity map. Hidden width: 200 for MNIST-sized inputs, 400 for CIFAR-sized.
import { Tensor, tidy } from "../tensor/tensor.js";
import { type TensorOptions } from "../tensor/creation.js";
import { Module, ModuleList } from "./module.js";
import { Conv2d } from "./conv.js";
import { chain } from "./sequential.js";
import { fanIn, truncatedNormal_, zeros_ } from "./init.js";

/** Hidden widths the paper uses. */
export const HIGHWAY_WIDTH = { mnist: 200, cifar: 400 } as const;

export interface HighwayOptions extends Pick<TensorOptions, "dtype" | "device"> {
  /** Hidden channels (default 400, CIFAR-sized; 200 for MNIST-sized). */
  hidden?: number;
  /** Highway layers (default 3). */
  layers?: number;
  /** Odd kernel size of every convolution, "same" padding (default 3). */
  kernelSize?: number;
}

/** The paper's initialisation: truncated normal with fan-in variance, zero bias. */
function fanInInit(conv: Conv2d): Conv2d {
  truncatedNormal_(conv.weight, Math.sqrt(1 / fanIn(conv.weight)));
  if (conv.bias) zeros_(conv.bias);
  return conv;
}

/** One highway layer: h = relu(conv(x)), g = sigmoid(conv_g(x)), out = g*h + (1-g)*x. */
export class HighwayLayer extends Module {
  readonly conv: Conv2d;
  readonly gate: Conv2d;
  constructor(
    readonly channels: number,
    o: Omit<HighwayOptions, "hidden" | "layers"> = {},
  ) {
    super();
    const c = { padding: "same" as const, dtype: o.dtype, device: o.device };
    this.conv = this.module("conv", fanInInit(new Conv2d(channels, channels, o.kernelSize ?? 3, c)));
    this.gate = this.module("gate", fanInInit(new Conv2d(channels, channels, o.kernelSize ?? 3, c)));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      // In place: a convolution's backward does not need its output, so the activation may overwrite it
      // (one hidden-sized tensor fewer each).
      const h = this.conv.forward(x).relu_();
      const g = this.gate.forward(x).sigmoid_();
      return x.lerp(h, g); // g*h + (1-g)*x in one kernel
    });
  }
}

export class HighwayNetwork extends Module {
  readonly input: Conv2d;
  readonly layers: ModuleList<HighwayLayer>;
  readonly output: Conv2d;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    o: HighwayOptions = {},
  ) {
    super();
    const hidden = o.hidden ?? HIGHWAY_WIDTH.cifar;
    const k = o.kernelSize ?? 3;
    const c = { padding: "same" as const, dtype: o.dtype, device: o.device };
    this.input = this.module("input", fanInInit(new Conv2d(inChannels, hidden, k, c)));
    this.layers = this.module("layers", new ModuleList(Array.from({ length: o.layers ?? 3 }, () => new HighwayLayer(hidden, { ...o, kernelSize: k }))));
    const out = new Conv2d(hidden, outChannels, k, c);
    zeros_(out.weight);
    zeros_(out.bias!);
    this.output = this.module("output", out);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      return chain(x, [(v) => this.input.forward(v).relu_(), ...this.layers, this.output]);
    });
  }
}
