// ActNorm (Glow, Kingma & Dhariwal 2018): a per-channel affine map y = (x + bias) * exp(logs), whose
// parameters are set from the first training batch so that y has zero mean and unit variance per channel.
// The `initialized` flag is a buffer, so a loaded checkpoint is not re-initialised by its first batch.
import { Tensor, tidy } from "../../tensor/tensor.js";
import { noGrad } from "../../tensor/autograd.js";
import { scalar, zeros, type TensorOptions } from "../../tensor/creation.js";
import { Module } from "../../nn/module.js";
import { type FlowLayer } from "./flow-layer.js";

export interface ActNormOptions extends Pick<TensorOptions, "dtype" | "device"> {
  /** Added to the batch std before inverting it (Glow: 1e-6). */
  eps?: number;
  /**
   * The stored parameter is logs/logScaleFactor (OpenAI's Glow code uses 3, which trains logs 3x faster);
   * 1 stores logs itself.
   */
  logScaleFactor?: number;
}

/** The smallest per-channel std of a batch ActNorm initialises on (see initialize). */
export const MIN_INIT_STD = 1e-4;

export class ActNorm extends Module implements FlowLayer {
  readonly eps: number;
  readonly logScaleFactor: number;
  private knownInitialized = false; // a JS copy of the flag once it is 1: saves a device read per batch

  constructor(
    readonly numChannels: number,
    o: ActNormOptions = {},
  ) {
    super();
    this.eps = o.eps ?? 1e-6;
    this.logScaleFactor = o.logScaleFactor ?? 1;
    const f = { dtype: o.dtype, device: o.device };
    this.param("bias", zeros([1, numChannels, 1, 1], f));
    this.param("logs", zeros([1, numChannels, 1, 1], f));
    this.buffer("initialized", scalar(0, { dtype: "uint8", device: o.device }));
  }
  get bias(): Tensor {
    return this.getParameter("bias");
  }
  /** The stored log-scale parameter (logs / logScaleFactor). */
  get logs(): Tensor {
    return this.getParameter("logs");
  }

  get initialized(): boolean {
    if (!this.knownInitialized) this.knownInitialized = this.getBuffer("initialized").item() !== 0;
    return this.knownInitialized;
  }
  protected override onStateLoaded(): void {
    this.knownInitialized = false; // re-read the loaded flag
  }

  /**
   * Sets bias and logs from a batch so the output has zero mean and unit variance per channel. A channel
   * (nearly) constant over the batch is refused: scaling it by 1/(std + eps) ~ 1e6 gave log p(x) = +27277
   * on that batch and -Infinity on any other. Dequantization noise alone gives real images a std of at
   * least 1/256/sqrt(12) = 1.1e-3 per channel, far above MIN_INIT_STD.
   */
  initialize(x: Tensor): void {
    tidy(() =>
      noGrad(() => {
        const mean = x.mean([0, 2, 3], true);
        const std = x.std([0, 2, 3], { correction: 0, keepdim: true });
        const smallest = std.min().item();
        if (smallest < MIN_INIT_STD)
          // NaN passes: non-finite batches are the training step's to report
          throw new RangeError(
            `ActNorm(${this.numChannels}): the first training batch has a channel with standard deviation ${smallest} ` +
              `(under ${MIN_INIT_STD}): its data-dependent initialisation would scale it by 1/std. Initialise on a batch ` +
              "of varied, dequantized images (the training loop's BatchLoader), not a constant one",
          );
        this.bias.copy_(mean.neg());
        this.logs.copy_(std.add(this.eps).reciprocal().log().div(this.logScaleFactor));
        this.getBuffer("initialized").fill_(1);
      }),
    );
    this.knownInitialized = true;
  }

  forward(x: Tensor): [Tensor, Tensor] {
    this.check(x);
    if (this.training && !this.initialized) this.initialize(x);
    return tidy(() => {
      const logs = this.logs.mul(this.logScaleFactor);
      const y = x.add(this.bias).mul(logs.exp());
      return [y, this.logdet(logs, x)];
    });
  }

  inverse(y: Tensor): [Tensor, Tensor] {
    this.check(y);
    return tidy(() => {
      const logs = this.logs.mul(this.logScaleFactor);
      const x = y.mul(logs.neg().exp()).sub(this.bias);
      return [x, this.logdet(logs, y).neg()];
    });
  }

  /** H*W*sum(logs), the same for every example. */
  private logdet(logs: Tensor, x: Tensor): Tensor {
    const [n, , h, w] = x.shape as [number, number, number, number];
    return logs
      .sum()
      .mul(h * w)
      .expand([n]); // a view: callers add it out of place
  }

  private check(x: Tensor): void {
    if (x.ndim !== 4 || x.shape[1] !== this.numChannels)
      throw new Error(`ActNorm(${this.numChannels}): expected input (N, ${this.numChannels}, H, W), got shape [${x.shape}]`);
  }
}
