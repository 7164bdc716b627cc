/**
 * Reader for MATLAB level-5 .mat files (what `save -v7` / scipy.io.savemat write): a 128-byte header,
 * then data elements. Only what numeric arrays need: miMATRIX (array flags, dimensions, name,
 * real part) and miCOMPRESSED (a zlib stream holding one more element). Both byte orders.
 * Reference: MathWorks, "MAT-File Format" (matfile_format.pdf), chapter 1.
 */
import { inflateSync } from "node:zlib";
import { DataFileError, REDOWNLOAD, describeStart } from "./errors.js";

export const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
} as const;

const CLASS_NAMES: Record<number, string> = {
  1: "cell",
  2: "struct",
  3: "object",
  4: "char",
  5: "sparse",
  6: "double",
  7: "single",
  8: "int8",
  9: "uint8",
  10: "int16",
  11: "uint16",
  12: "int32",
  13: "uint32",
  14: "int64",
  15: "uint64",
};
const NUMERIC_CLASSES = new Set([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
const ELEMENT_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8 };

export interface MatVariable {
  name: string;
  /** MATLAB class: 'uint8', 'double', ... */
  className: string;
  /** Dimensions as MATLAB gives them; data is column-major (first index fastest). */
  dims: number[];
  /** Real part as stored: a Uint8Array view for miUINT8 storage, otherwise numbers in a Float64Array. Absent for non-numeric classes. */
  real?: Uint8Array | Float64Array;
  complex: boolean;
}

interface Tag {
  type: number;
  nbytes: number;
  dataOff: number;
  next: number;
}

class MatReader {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(problem: string): never {
    throw new DataFileError(this.file, problem, REDOWNLOAD);
  }

  tag(off: number, end: number, what: string): Tag {
    if (off + 8 > end) this.fail(`truncated: ${what} tag at byte ${off} needs 8 bytes, only ${end - off} left`);
    const first = this.view.getUint32(off, this.le);
    if (first >>> 16 !== 0) {
      // small data element: 2-byte size, 2-byte type, up to 4 bytes of data in the tag itself
      const nbytes = first >>> 16;
      if (nbytes > 4) this.fail(`corrupt small data element at byte ${off} (size ${nbytes} > 4)`);
      return { type: first & 0xffff, nbytes, dataOff: off + 4, next: off + 8 };
    }
    const nbytes = this.view.getUint32(off + 4, this.le);
    const dataOff = off + 8;
    if (dataOff + nbytes > end) {
      this.fail(`truncated: ${what} at byte ${off} declares ${nbytes} bytes, only ${end - dataOff} are left`);
    }
    // compressed elements are not padded; everything else is aligned to 8 bytes
    const next = first === MI.COMPRESSED ? dataOff + nbytes : dataOff + Math.ceil(nbytes / 8) * 8;
    return { type: first, nbytes, dataOff, next: Math.min(next, end) };
  }

  numbers(t: Tag, what: string): Uint8Array | Float64Array {
    const size = ELEMENT_SIZE[t.type];
    if (!size) this.fail(`${what}: unsupported data type ${t.type}`);
    if (t.nbytes % size !== 0) this.fail(`${what}: ${t.nbytes} bytes is not a whole number of ${size}-byte elements`);
    if (t.type === MI.UINT8) return this.bytes.subarray(t.dataOff, t.dataOff + t.nbytes);
    const n = t.nbytes / size;
    const out = new Float64Array(n);
    const v = this.view;
    const le = this.le;
    for (let i = 0, o = t.dataOff; i < n; i++, o += size) {
      switch (t.type) {
        case MI.INT8:
          out[i] = v.getInt8(o);
          break;
        case MI.INT16:
          out[i] = v.getInt16(o, le);
          break;
        case MI.UINT16:
          out[i] = v.getUint16(o, le);
          break;
        case MI.INT32:
          out[i] = v.getInt32(o, le);
          break;
        case MI.UINT32:
          out[i] = v.getUint32(o, le);
          break;
        case MI.SINGLE:
          out[i] = v.getFloat32(o, le);
          break;
        case MI.DOUBLE:
          out[i] = v.getFloat64(o, le);
          break;
        case MI.INT64:
          out[i] = Number(v.getBigInt64(o, le));
          break;
        case MI.UINT64:
          out[i] = Number(v.getBigUint64(o, le));
          break;
      }
    }
    return out;
  }

  matrix(t: Tag): MatVariable | undefined {
    const end = t.dataOff + t.nbytes;
    if (t.nbytes === 0) return undefined; // empty placeholder element
    const flags = this.tag(t.dataOff, end, "array flags");
    if (flags.type !== MI.UINT32 || flags.nbytes !== 8)
      this.fail(`array flags at byte ${t.dataOff} have type ${flags.type}/size ${flags.nbytes}, expected miUINT32/8`);
    const word = this.view.getUint32(flags.dataOff, this.le);
    const classId = word & 0xff;
    const complex = ((word >>> 8) & 0x08) !== 0;
    const className = CLASS_NAMES[classId] ?? `class${classId}`;
    const dimsTag = this.tag(flags.next, end, "dimensions");
    if (dimsTag.type !== MI.INT32) this.fail(`dimensions have type ${dimsTag.type}, expected miINT32`);
    const dims = Array.from(this.numbers(dimsTag, "dimensions"));
    const nameTag = this.tag(dimsTag.next, end, "array name");
    const name = Buffer.from(this.bytes.subarray(nameTag.dataOff, nameTag.dataOff + nameTag.nbytes)).toString("latin1");
    if (!NUMERIC_CLASSES.has(classId)) return { name, className, dims, complex };
    const realTag = this.tag(nameTag.next, end, `real part of "${name}"`);
    const real = this.numbers(realTag, `real part of "${name}"`);
    const count = dims.reduce((a, b) => a * b, 1);
    if (real.length !== count) this.fail(`variable "${name}" has dimensions ${dims.join("x")} (${count} values) but ${real.length} stored values`);
    return { name, className, dims, real, complex };
  }

  /** Reads the elements in [off, end) into `out` (top level, or the inside of a compressed element). */
  elements(off: number, end: number, out: Map<string, MatVariable>): void {
    while (off < end) {
      if (end - off < 8 && this.bytes.subarray(off, end).every((b) => b === 0)) return; // trailing padding
      const t = this.tag(off, end, "data element");
      if (t.type === MI.COMPRESSED) {
        let inner: Uint8Array;
        try {
          inner = inflateSync(this.bytes.subarray(t.dataOff, t.dataOff + t.nbytes));
        } catch (e) {
          this.fail(`compressed variable at byte ${off} is damaged or truncated (zlib: ${(e as Error).message})`);
        }
        const sub = new MatReader(
          new Uint8Array(inner.buffer, inner.byteOffset, inner.byteLength),
          this.le,
          `${this.file} (inside the compressed element at byte ${off})`,
        );
        sub.elements(0, inner.length, out);
      } else if (t.type === MI.MATRIX) {
        const v = this.matrix(t);
        if (v) out.set(v.name, v);
      }
      // other top-level element types (none in practice) are skipped
      off = t.next;
    }
  }
}

/** Parses a level-5 .mat file and returns its variables by name. `file` is used in messages. */
export function parseMatV5(bytes: Uint8Array, file: string): Map<string, MatVariable> {
  if (bytes.length < 128) {
    throw new DataFileError(file, `truncated or not a .mat file: ${bytes.length} bytes, the MAT header alone is 128 (${describeStart(bytes)})`, REDOWNLOAD);
  }
  const text = Buffer.from(bytes.subarray(0, 116)).toString("latin1");
  const endian = Buffer.from(bytes.subarray(126, 128)).toString("latin1");
  if (text.startsWith("MATLAB 7.3") || (bytes.length > 516 && Buffer.from(bytes.subarray(512, 516)).toString("latin1") === "\x89HDF")) {
    throw new DataFileError(
      file,
      "this is a MATLAB v7.3 (HDF5) file, only level-5 (v6/v7) .mat files are supported",
      "Use the official SVHN file, or re-save it in MATLAB with save(..., '-v7')",
    );
  }
  if (endian !== "IM" && endian !== "MI") {
    throw new DataFileError(
      file,
      `not a MATLAB level-5 .mat file: no "IM"/"MI" endian indicator at byte 126 (${describeStart(bytes)})`,
      `${REDOWNLOAD}; MATLAB v4 files are not supported`,
    );
  }
  const reader = new MatReader(bytes, endian === "IM", file);
  const vars = new Map<string, MatVariable>();
  reader.elements(128, bytes.length, vars);
  return vars;
}
