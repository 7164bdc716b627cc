// RealNVP's configuration as a schema (see ../glow/config.ts).
import { imageShapeSchema, positiveInt, z } from "../../schema.js";

export const realnvpConfigSchema = z
  .strictObject({
    kind: z.literal("realnvp"),
    imageShape: imageShapeSchema,
    /** Number of scales; all but the last squeeze and factor out half. */
    scales: positiveInt,
    hidden: positiveInt,
    /** Residual blocks per coupling network. */
    blocks: positiveInt,
    /** Logit preprocessing: logit(alpha + (1 - 2 alpha) x). */
    alpha: z.number().min(0).lt(0.5),
    batchNorm: z.boolean(),
  })
  .superRefine((c, ctx) => {
    const f = 2 ** (c.scales - 1);
    if (c.imageShape[1] % f || c.imageShape[2] % f)
      ctx.addIssue({ code: "custom", path: ["imageShape"], message: `must have H and W divisible by ${f} for ${c.scales} scales`, input: c.imageShape });
  });

export type RealNVPConfig = z.infer<typeof realnvpConfigSchema>;
