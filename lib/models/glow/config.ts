// Glow's configuration as a schema: createModel, `new Glow` and config.json check a model config with
// it, and GlowConfig is its inferred type.
import { imageShapeSchema, positiveInt, z } from "../../schema.js";
import { COUPLING_KINDS, COUPLING_NETS, COUPLING_SCALES } from "../flows/coupling.js";

export const glowConfigSchema = z
  .strictObject({
    kind: z.enum(["glow", "cv-glow"]),
    imageShape: imageShapeSchema,
    /** Levels L (each squeezes by 2; all but the last factor out half the channels). */
    levels: positiveInt,
    /** Steps K per level. */
    steps: positiveInt,
    /** Width of the coupling networks. */
    hidden: positiveInt,
    coupling: z.enum(COUPLING_KINDS),
    scale: z.enum(COUPLING_SCALES),
    net: z.enum(COUPLING_NETS),
    actnorm: z.boolean(),
    /** LU-decomposed 1x1 convolutions. */
    lu: z.boolean(),
    /** Learned prior (Glow's split priors and learned top) instead of a standard normal everywhere. */
    learnedPrior: z.boolean(),
  })
  .superRefine((c, ctx) => {
    if (c.kind === "cv-glow" && c.coupling !== "additive")
      ctx.addIssue({ code: "custom", path: ["coupling"], message: 'must be "additive" for cv-glow (constant volume)', input: c.coupling });
    const f = 2 ** c.levels;
    if (c.imageShape[1] % f || c.imageShape[2] % f)
      ctx.addIssue({ code: "custom", path: ["imageShape"], message: `must have H and W divisible by ${f} for ${c.levels} levels`, input: c.imageShape });
  });

export type GlowConfig = z.infer<typeof glowConfigSchema>;
