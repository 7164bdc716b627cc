// The one validation layer for structures read from disk or taken from a caller (config.json, model
// configs, loader options, checkpoint metadata): zod schemas, whose inferred types are the TypeScript
// types, so a field cannot be typed one way and checked another. zod because it was already a
// dependency, infers types, and reports every problem with its path in one pass.
import { z } from "zod";

/** A structure that failed its schema: `what` names it (a file, a function), `problems` each bad field. */
export class SchemaError extends Error {
  constructor(
    readonly what: string,
    readonly problems: string[],
    hint = "",
  ) {
    super(`${what}: ${problems.join("; ")}${hint ? `; ${hint}` : ""}`);
    this.name = "SchemaError";
  }
}

/** A value as messages show it (JSON, shortened; `nothing` for undefined). */
export const show = (v: unknown): string => {
  if (v === undefined) return "nothing";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + "..." : s;
};

const at = (root: unknown, path: readonly PropertyKey[]): unknown => {
  let v = root;
  for (const k of path) v = typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
};

const fieldName = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((s, k) => (typeof k === "number" ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), "");

/** For a custom issue whose message shows the value itself: no ", got ..." is added. */
export const VALUE_SHOWN = { valueShown: true } as const;

/** One line per problem: the field, what it must be, and what it was. */
export function describeIssues(err: z.ZodError, input: unknown, prefix = ""): string[] {
  return err.issues.map((i) => {
    const path = [...(prefix ? [prefix] : []), ...i.path];
    if (i.code === "unrecognized_keys") {
      const where = fieldName(path);
      return `${where ? `"${where}" has ` : ""}unknown field(s) ${i.keys.map((k) => `"${k}"`).join(", ")}`;
    }
    const field = fieldName(path) || "(the whole value)";
    // A custom check whose message already shows the value says so with params.valueShown.
    if (i.code === "custom" && (i.params as { valueShown?: boolean } | undefined)?.valueShown) return `"${field}" ${i.message}`;
    return `"${field}" ${i.message.replace(/^Invalid input: /, "")}, got ${show(at(input, i.path))}`;
  });
}

/** `value` parsed by `schema`, or a SchemaError naming `what` and every bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string, hint = ""): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new SchemaError(what, describeIssues(r.error, value), hint);
  return r.data;
}

// Parts several schemas share.
/** An integer >= min; every failure says so (the messages name the rule once). */
export const intAtLeast = (min: number, message = `must be an integer >= ${min}`) =>
  z.number({ error: message }).int({ error: message }).min(min, { error: message });
/** A number in a range; every failure says `message`. */
export const numberIn = (message: string, ok: (n: number) => boolean) => z.number({ error: message }).refine(ok, { error: message });
export const positiveInt = intAtLeast(1);
export const nonNegativeInt = intAtLeast(0);
/** [C, H, W] of an image: positive integers. */
export const imageShapeSchema = z.tuple([positiveInt, positiveInt, positiveInt]);

export { z };
