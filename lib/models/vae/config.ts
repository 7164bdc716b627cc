// The VAE's configuration as a schema (see ../glow/config.ts).
import { imageShapeSchema, positiveInt, z } from "../../schema.js";

export const vaeConfigSchema = z.strictObject({
  kind: z.literal("vae"),
  imageShape: imageShapeSchema,
  /** Dimension of z. */
  latent: positiveInt,
  /** K of the importance-weighted log-likelihood used for evaluation. */
  iwSamples: positiveInt,
  /** Channels of the encoder's stride-2 convolutions. */
  encoder: z.array(positiveInt),
  /** Channels of the decoder's first feature map (what the linear layer from z makes). */
  bottleneck: positiveInt,
  /** Channels of the decoder's stride-2 transposed convolutions (its first map is H/2^n x W/2^n). */
  decoder: z.array(positiveInt),
  /** Std of the normal the weights are drawn from. */
  initStd: z.number().positive().refine(Number.isFinite, "must be finite"),
  /** Number of values a sub-pixel takes (default 256). */
  levels: positiveInt.min(2).max(256).optional(),
});

export type VAEConfig = z.infer<typeof vaeConfigSchema>;
