// How an unexpected value is named in an error message: "the number 5", "the string 'x'", "undefined".
export function describeValue(v: unknown): string {
  if (typeof v === "number" || typeof v === "bigint") return `the number ${String(v)}`;
  if (typeof v === "string") return `the string '${v}'`;
  if (v === null || v === undefined || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? `an object (${v.constructor?.name ?? "no prototype"})` : typeof v;
}
