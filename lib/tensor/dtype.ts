// Element types, named as in PyTorch, and their codes in c10::ScalarType.

export type DType = "uint8" | "int8" | "int16" | "int32" | "int64" | "float16" | "float32" | "float64" | "bool" | "bfloat16";

const CODES: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};
export const DTYPES = Object.keys(CODES) as DType[];
export const isDType = (d: unknown): d is DType => typeof d === "string" && Object.hasOwn(CODES, d);
const BY_CODE: DType[] = [];
for (const [name, code] of Object.entries(CODES)) BY_CODE[code] = name as DType;

export function dtypeCode(d: DType): number {
  const c = isDType(d) ? CODES[d] : undefined;
  if (c === undefined) throw new TypeError(`unknown dtype '${String(d)}' (one of ${Object.keys(CODES).join(", ")})`);
  return c;
}

export function dtypeFromCode(code: number): DType {
  const d = BY_CODE[code];
  if (d === undefined) throw new TypeError(`torchts does not support ScalarType code ${code}`);
  return d;
}

export type TypedArray = Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint16Array | Float32Array | Float64Array;

/** The TypedArray that holds a dtype's raw elements (16-bit floats as their bit patterns). */
export function typedArrayFor(d: DType, buf: ArrayBuffer): TypedArray {
  switch (d) {
    case "uint8":
    case "bool":
      return new Uint8Array(buf);
    case "int8":
      return new Int8Array(buf);
    case "int16":
      return new Int16Array(buf);
    case "int32":
      return new Int32Array(buf);
    case "int64":
      return new BigInt64Array(buf);
    case "float16":
    case "bfloat16":
      return new Uint16Array(buf);
    case "float32":
      return new Float32Array(buf);
    case "float64":
      return new Float64Array(buf);
  }
}

/** The dtype a TypedArray's elements are read as when it becomes a tensor. */
export function dtypeOfTypedArray(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return "uint8";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Int16Array) return "int16";
  throw new TypeError(`cannot make a tensor from a ${a.constructor.name}`);
}

export const isFloating = (d: DType) => d === "float32" || d === "float64" || d === "float16" || d === "bfloat16";
export const itemSize = (d: DType) => ({ uint8: 1, int8: 1, bool: 1, int16: 2, float16: 2, bfloat16: 2, int32: 4, float32: 4, int64: 8, float64: 8 })[d];
