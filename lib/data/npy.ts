/**
 * NumPy .npy arrays: magic "\x93NUMPY", version, header length (uint16 in v1, uint32 in v2/v3),
 * then a Python dict literal {'descr': '|u1', 'fortran_order': False, 'shape': (N, 32, 32, 3), }.
 * Reference: numpy.lib.format.
 */
import { DataFileError, REDOWNLOAD, describeStart } from "./errors.js";

export interface NpyArray {
  /** dtype string, e.g. '|u1', '<i8' */
  descr: string;
  shape: number[];
  /** raw little/big-endian element bytes, C order */
  data: Uint8Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function parseNpy(bytes: Uint8Array, where: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new DataFileError(where, `not a .npy array: wrong magic (${describeStart(bytes)}; expected 93 4e 55 4d 50 59 = "\\x93NUMPY")`, REDOWNLOAD);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLen: number;
  if (major === 1) {
    headerStart = 10;
    headerLen = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DataFileError(where, "truncated .npy header", REDOWNLOAD);
    headerStart = 12;
    headerLen = view.getUint32(8, true);
  } else {
    throw new DataFileError(where, `unsupported .npy format version ${major}.${bytes[7]}`, "Re-save it with a current numpy (format 1.0, 2.0 or 3.0)");
  }
  if (headerStart + headerLen > bytes.length) {
    throw new DataFileError(where, `truncated: the .npy header needs ${headerStart + headerLen} bytes, there are ${bytes.length}`, REDOWNLOAD);
  }
  const header = Buffer.from(bytes.subarray(headerStart, headerStart + headerLen)).toString("latin1");
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new DataFileError(
      where,
      `unreadable .npy header ${JSON.stringify(header.trim())} (structured dtypes are not supported)`,
      "Save a plain uint8 array with numpy.save / numpy.savez",
    );
  }
  if (fortran === "True") {
    throw new DataFileError(where, "the array is in Fortran (column-major) order", "Re-save it with numpy.ascontiguousarray(x)");
  }
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new DataFileError(where, `bad shape (${shapeText}) in the .npy header`, REDOWNLOAD);
  }
  const itemSize = Number(/\d+$/.exec(descr)?.[0] ?? NaN);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  const need = count * itemSize;
  if (!Number.isFinite(need)) {
    throw new DataFileError(where, `unsupported dtype '${descr}'`, "Save a numeric array (uint8 images)");
  }
  if (bytes.length - dataStart < need) {
    throw new DataFileError(
      where,
      `truncated: shape (${shape.join(", ")}) of '${descr}' needs ${need} data bytes, there are ${bytes.length - dataStart}`,
      REDOWNLOAD,
    );
  }
  if (bytes.length - dataStart > need) {
    throw new DataFileError(
      where,
      `wrong size: shape (${shape.join(", ")}) of '${descr}' needs ${need} data bytes, there are ${bytes.length - dataStart}`,
      REDOWNLOAD,
    );
  }
  return { descr, shape, data: bytes.subarray(dataStart) };
}

export function isUint8(a: NpyArray): boolean {
  return a.descr === "|u1" || a.descr === "<u1" || a.descr === ">u1" || a.descr === "u1";
}

/** Integer label arrays of any integer dtype, as Int32Array. */
export function npyToInt32(a: NpyArray, where: string): Int32Array {
  const m = /^([<>|=]?)([iu])(\d)$/.exec(a.descr);
  if (!m) throw new DataFileError(where, `labels have dtype '${a.descr}', expected an integer dtype`, "Save the labels as integers");
  const le = m[1] !== ">";
  const signed = m[2] === "i";
  const size = Number(m[3]);
  const n = a.data.length / size;
  const v = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    let x: number;
    switch (size) {
      case 1:
        x = signed ? v.getInt8(o) : v.getUint8(o);
        break;
      case 2:
        x = signed ? v.getInt16(o, le) : v.getUint16(o, le);
        break;
      case 4:
        x = signed ? v.getInt32(o, le) : v.getUint32(o, le);
        break;
      case 8:
        x = Number(signed ? v.getBigInt64(o, le) : v.getBigUint64(o, le));
        break;
      default:
        throw new DataFileError(where, `labels have dtype '${a.descr}'`, "Save the labels as integers");
    }
    if (x < -0x80000000 || x > 0x7fffffff) throw new DataFileError(where, `label ${x} does not fit in int32`, "Save class indices as labels");
    out[i] = x;
  }
  return out;
}
