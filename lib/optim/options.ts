// The optimizers' hyperparameters as zod schemas: options, parameter groups and the groups of a loaded state
// dict are checked by the same schema, so NaN or a negative learning rate, betas outside [0, 1) and a
// misspelt option are errors naming the field, instead of NaN weights or a default used in silence.
import { z } from "zod";

const show = (v: unknown): string => (typeof v === "string" ? `'${v}'` : Array.isArray(v) ? `[${v.map(show).join(", ")}]` : String(v));
const finite = () => z.number({ error: (iss) => `must be a finite number, got ${show(iss.input)}` });
const nonNegative = () => finite().min(0, { error: (iss) => `must be at least 0, got ${show(iss.input)}` });
/** A decay rate: 0 <= x < 1 (at 1 the average never moves and the bias correction divides by zero). */
const decay = () => nonNegative().lt(1, { error: (iss) => `must be less than 1, got ${show(iss.input)}` });

const base = { lr: nonNegative(), weightDecay: nonNegative() };
const betas = z.tuple([decay(), decay()], { error: (iss) => `must be two numbers [beta1, beta2], got ${show(iss.input)}` });

export const ADAM_HYPER = z.strictObject({ ...base, betas, eps: nonNegative() });
export const ADAMAX_HYPER = ADAM_HYPER;
export const RMSPROP_HYPER = z.strictObject({
  ...base,
  alpha: nonNegative().max(1, { error: (iss) => `must be at most 1, got ${show(iss.input)}` }),
  eps: nonNegative(),
  momentum: nonNegative(),
  centered: z.boolean({ error: (iss) => `must be true or false, got ${show(iss.input)}` }),
});

export type HyperSchema = z.ZodObject<z.ZodRawShape, z.core.$strict>;

/** Checks hyperparameters against a schema; a TypeError naming each bad field (prefixed by `where`). */
export function checkHyper(schema: HyperSchema, value: unknown, where: string, path = ""): void {
  const r = schema.safeParse(value);
  if (r.success) return;
  const lines = r.error.issues.map((i) => {
    const at = [path, ...i.path.map(String)].filter((s) => s !== "").join(".");
    return at ? `${at}: ${i.message}` : i.message;
  });
  throw new TypeError(`${where}: ${lines.join("; ")}`);
}

/** The options actually given: `{ lr: undefined }` means "the default", as an absent key does. */
export function given<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
