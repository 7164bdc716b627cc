// Convolutional VAE with a categorical decoder (the paper's appendix A.3): q(z|x) = N(mu(x), diag
// sigma(x)^2), p(z) = N(0, I), p(x|z) = prod over sub-pixels of an L-way softmax (L = 256), so log p(x|z)
// and everything built from it is a discrete log-likelihood in nats.
//
//   encoder: stride-2 convolutions (kernel 4, padding 1: exact halving), ReLU, then a linear layer to
//            [mu, log sigma^2];
//   decoder: a linear layer from z to a [bottleneck, H/2^n, W/2^n] map, ReLU, n stride-2 transposed
//            convolutions (kernel 4, padding 1: exact doubling) with ReLU, and a last stride-1 transposed
//            convolution (kernel 3, padding 1) to L*C logits per pixel.
//
// FashionMNIST (appendix A.3): linear to 7x7x64, transposed convolutions of 32, 32 and 256 features with
// strides 2, 2, 1. Kernel sizes, the encoder and the latent size are not given there: the encoder mirrors
// the decoder (convolutions of 32 and 64 features, stride 2) and the latent size is our choice (presets.ts).
//
// Initialisation: the appendix draws the weights "from a normal with variance 0.02". We read that
// literally, std = sqrt(0.02) ~ 0.141 (`initStd`); DCGAN-style code uses std 0.02, which the sentence may
// also mean. Biases start at zero.
//
// objective(x) is the ELBO, E_q[log p(x|z)] - KL(q(z|x) || p(z)), with one reparameterised draw and the
// KL term in closed form; logLikelihood(x) is the importance-weighted estimate (Burda et al. 2016)
// log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x), z_k ~ q(z|x), with K = iwSamples.
import * as torch from "../../tensor/index.js";
import { type Tensor } from "../../tensor/index.js";
import { Conv2d, ConvTranspose2d, Linear, Module, ModuleList, chain } from "../../nn/index.js";
import * as init from "../../nn/init.js";
import { type DensityModel, type LogLikelihood, checkModelInput, checkSampleArgs } from "../density.js";
import { binCentres, categoricalLogLikelihood, centredInput, pixelValues, sampleCategorical } from "../discrete.js";
import { vaeConfigSchema, type VAEConfig } from "./config.js";
import { parseWith } from "../../schema.js";

export type { VAEConfig } from "./config.js";

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
/** Logits one importance-sampling pass may hold: 64 decoded 28x28 images of 256 levels (51 MB). */
const DECODE_BUDGET = 64 * 256 * 28 * 28;

export class VAE extends Module implements DensityModel {
  readonly kind = "vae" as const;
  readonly imageShape: readonly [number, number, number];
  readonly levels: number;
  readonly encoderConvs: ModuleList<Conv2d>;
  readonly toPosterior: Linear;
  readonly fromLatent: Linear;
  readonly decoderConvs: ModuleList<ConvTranspose2d>;
  readonly toLogits: ConvTranspose2d;
  /** [channels, height, width] of the decoder's first map (and of the encoder's last). */
  readonly baseShape: [number, number, number];

  readonly config: VAEConfig;

  constructor(config: VAEConfig) {
    super();
    // Checked once here, so a typo or a missing field is an error naming it, not a default or a crash later.
    this.config = config = parseWith(vaeConfigSchema, config, "VAE config");
    const [c, h, w] = (this.imageShape = config.imageShape);
    const levels = (this.levels = config.levels ?? 256);
    const down = 2 ** config.encoder.length,
      up = 2 ** config.decoder.length;
    if (down !== up)
      throw new Error(
        `VAE: the encoder (${config.encoder.length} stride-2 layers) and decoder (${config.decoder.length}) must change the size by the same factor`,
      );
    if (h % up || w % up) throw new Error(`VAE: ${config.decoder.length} stride-2 layers need H and W divisible by ${up}, got ${h}x${w}`);
    this.baseShape = [config.bottleneck, h / up, w / up];

    this.encoderConvs = this.module("encoder", new ModuleList<Conv2d>());
    let ch = c;
    for (const f of config.encoder) {
      this.encoderConvs.push(new Conv2d(ch, f, 4, { stride: 2, padding: 1 }));
      ch = f;
    }
    this.toPosterior = this.module("posterior", new Linear(ch * (h / down) * (w / down), 2 * config.latent));

    this.fromLatent = this.module("latent", new Linear(config.latent, config.bottleneck * (h / up) * (w / up)));
    this.decoderConvs = this.module("decoder", new ModuleList<ConvTranspose2d>());
    ch = config.bottleneck;
    for (const f of config.decoder) {
      this.decoderConvs.push(new ConvTranspose2d(ch, f, 4, { stride: 2, padding: 1 }));
      ch = f;
    }
    this.toLogits = this.module("logits", new ConvTranspose2d(ch, levels * c, 3, { stride: 1, padding: 1 }));

    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith("weight")) init.normal_(p, 0, config.initStd);
      else init.zeros_(p);
    }
  }

  /** x in [0, 1] -> (the pixel values, mu, log sigma^2), [B, latent] each. */
  encode(x: Tensor): { values: Tensor; mu: Tensor; logVar: Tensor } {
    return torch.tidy(() => {
      const values = pixelValues(x, this.levels);
      // In place: a convolution's backward does not need its output.
      const h = chain(
        centredInput(values, this.levels),
        [...this.encoderConvs].map((conv) => (v: Tensor) => conv.forward(v).relu_()),
      );
      const [mu, logVar] = this.toPosterior.forward(h.flatten(1)).chunk(2, 1) as [Tensor, Tensor];
      return { values, mu, logVar };
    });
  }

  /** z [N, latent] -> logits [N, L*C, H, W] of p(x|z). */
  decode(z: Tensor): Tensor {
    return torch.tidy(() => {
      return chain(z, [
        (v) =>
          this.fromLatent
            .forward(v)
            .relu_()
            .view(z.shape[0]!, ...this.baseShape),
        ...[...this.decoderConvs].map((conv) => (v: Tensor) => conv.forward(v).relu_()),
        this.toLogits,
      ]);
    });
  }

  /** The ELBO per example with one reparameterised draw and the KL in closed form: [B] nats. */
  objective(x: Tensor): LogLikelihood {
    checkModelInput(this, x);
    return torch.tidy(() => {
      const { values, mu, logVar } = this.encode(x);
      const z = torch.randnLike(mu).mul(logVar.mul(0.5).exp()).add(mu);
      const logPxGivenZ = categoricalLogLikelihood(this.decode(z), values, this.levels);
      const kl = mu.square().add(logVar.exp()).sub(1).sub(logVar).sum(1).mul(0.5);
      return { logPx: logPxGivenZ.sub(kl) };
    });
  }

  /**
   * log w_k = log p(x, z_k) - log q(z_k|x) for K draws z_k ~ q(z|x): [K, B] nats. The draws are decoded
   * in chunks of as many as fit a fixed logits budget.
   */
  logImportanceWeights(x: Tensor, k: number): Tensor {
    const perImage = this.levels * this.imageShape[0] * this.imageShape[1] * this.imageShape[2];
    const maxImages = Math.max(1, Math.floor(DECODE_BUDGET / perImage));
    const n = x.shape[0]!;
    if (n > maxImages) {
      // Large batches: a slice of the batch at a time (one slice's logits already fill the budget).
      return torch.tidy(() => {
        const parts: Tensor[] = [];
        for (let i = 0; i < n; i += maxImages) parts.push(this.logImportanceWeights(x.narrow(0, i, Math.min(maxImages, n - i)), k));
        return torch.cat(parts, 1);
      });
    }
    return torch.tidy(() => {
      const { values, mu, logVar } = this.encode(x);
      const [b, d] = mu.shape as [number, number];
      const std = logVar.mul(0.5).exp();
      const chunk = Math.max(1, Math.floor(maxImages / b));
      const logW: Tensor[] = [];
      for (let k0 = 0; k0 < k; k0 += chunk) {
        const kk = Math.min(chunk, k - k0);
        logW.push(
          torch.tidy(() => {
            const eps = torch.randn([kk, b, d], { device: mu.device });
            const z = eps.mul(std).add(mu); // [kk, B, d]
            const target = values
              .unsqueeze(0)
              .expand(kk, ...values.shape)
              .reshape(kk * b, ...values.shape.slice(1));
            const logPxGivenZ = categoricalLogLikelihood(this.decode(z.view(kk * b, d)), target, this.levels).view(kk, b);
            const logPz = z
              .square()
              .sum(2)
              .mul(-0.5)
              .sub(d * HALF_LOG_2PI);
            const logQz = eps
              .square()
              .sum(2)
              .mul(-0.5)
              .sub(logVar.sum(1).mul(0.5))
              .sub(d * HALF_LOG_2PI);
            return logPxGivenZ.add(logPz).sub(logQz);
          }),
        );
      }
      return logW.length === 1 ? logW[0]! : torch.cat(logW, 0);
    });
  }

  /** The importance-weighted estimate log (1/K) sum_k w_k per example: [B] nats. */
  importanceWeighted(x: Tensor, k: number): Tensor {
    return torch.tidy(() => this.logImportanceWeights(x, k).logsumexp(0).sub(Math.log(k)));
  }

  logLikelihood(x: Tensor): LogLikelihood {
    checkModelInput(this, x);
    return { logPx: this.importanceWeighted(x, this.config.iwSamples) };
  }

  /** z ~ N(0, temperature^2 I), then every sub-pixel drawn from p(x|z). */
  sample(n: number, o: { temperature?: number } = {}): Tensor {
    checkSampleArgs(this.kind, n, o);
    return torch.noGrad(() =>
      torch.tidy(() => {
        const z = torch.randn([n, this.config.latent], { device: this.toLogits.weight.device }).mul(o.temperature ?? 1);
        const [c, h, w] = this.imageShape;
        const logits = this.decode(z).view(n, c, this.levels, h, w);
        return binCentres(sampleCategorical(logits, 2), this.levels);
      }),
    );
  }
}
