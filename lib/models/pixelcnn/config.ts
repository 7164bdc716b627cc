// PixelCNN's configuration as a schema (see ../glow/config.ts).
import { imageShapeSchema, positiveInt, z } from "../../schema.js";

const oddKernel = positiveInt.min(3).refine((k) => k % 2 === 1, "must be odd");

export const pixelcnnConfigSchema = z
  .strictObject({
    kind: z.literal("pixelcnn"),
    imageShape: imageShapeSchema,
    /** Gated layers, the first (mask A, reading the image) included. */
    layers: positiveInt,
    /** Channels of each stack. */
    features: positiveInt,
    /** Width of the skip layer (and of the hidden 1x1 layer of the output). */
    skip: positiveInt,
    /** Kernel size of the gated layers after the first (odd; default 3). */
    kernel: oddKernel.optional(),
    /** Kernel size of the first layer (odd; default 7, as van den Oord et al.). */
    firstKernel: oddKernel.optional(),
    /** Number of values a sub-pixel takes (default 256; tests use 2 to enumerate every image). */
    levels: positiveInt.min(2).max(256).optional(),
  })
  .superRefine((c, ctx) => {
    for (const k of ["features", "skip"] as const)
      if (c[k] < c.imageShape[0]) ctx.addIssue({ code: "custom", path: [k], message: `must be at least the ${c.imageShape[0]} colour channels`, input: c[k] });
  });

export type PixelCNNConfig = z.infer<typeof pixelcnnConfigSchema>;
