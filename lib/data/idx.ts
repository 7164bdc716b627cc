/**
 * IDX files (MNIST, FashionMNIST): big-endian header `00 00 <type> <ndims>`, ndims uint32 sizes,
 * then the data. Only unsigned bytes (type 0x08) occur in these data sets. Gzipped or plain.
 */
import { DataFileError, REDOWNLOAD, describeStart } from "./errors.js";
import { maybeGunzip, readDataFile } from "./read-file.js";

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = { 0x08: "uint8", 0x09: "int8", 0x0b: "int16", 0x0c: "int32", 0x0d: "float32", 0x0e: "float64" };

/** The decompressed bytes of an IDX file (the content that MD5SUMS.uncompressed lists). */
export function readIdxBytes(file: string): Uint8Array {
  return maybeGunzip(readDataFile(file), file);
}

/** Parses decompressed IDX bytes; `file` is only used in error messages. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || !(bytes[2] in TYPE_NAMES) || bytes[3] < 1) {
    throw new DataFileError(
      file,
      `not an IDX file: wrong magic number (${describeStart(bytes)}; expected 00 00 08 01 for labels or 00 00 08 03 for images)`,
      `${REDOWNLOAD}; if it is another format, point the loader at the right file`,
    );
  }
  if (bytes[2] !== 0x08) {
    throw new DataFileError(file, `IDX element type is ${TYPE_NAMES[bytes[2]]}, only uint8 (0x08) is supported`, "Use the official MNIST/FashionMNIST files");
  }
  const ndims = bytes[3];
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen) {
    throw new DataFileError(file, `truncated IDX header (${bytes.length} bytes, the header alone needs ${headerLen})`, REDOWNLOAD);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerLen + count;
  if (bytes.length < expected) {
    throw new DataFileError(
      file,
      `truncated: the header says ${dims.join("x")} = ${count} bytes of data (${expected} bytes in all), the file has ${bytes.length}`,
      REDOWNLOAD,
    );
  }
  if (bytes.length > expected) {
    throw new DataFileError(
      file,
      `wrong size: the header says ${dims.join("x")} (${expected} bytes in all), the file has ${bytes.length} (${bytes.length - expected} bytes too many)`,
      REDOWNLOAD,
    );
  }
  return { dims, data: bytes.subarray(headerLen) };
}

export interface IdxImages {
  images: Uint8Array;
  n: number;
  height: number;
  width: number;
}

/** Images from decompressed IDX bytes: dims [n, rows, cols], row-major, already NCHW with C = 1. */
export function idxImagesFromBytes(bytes: Uint8Array, file: string): IdxImages {
  const { dims, data } = parseIdx(bytes, file);
  if (dims.length !== 3) {
    throw new DataFileError(
      file,
      `expected an IDX image file with 3 dimensions (n, rows, cols), found ${dims.length} (${dims.join("x")})`,
      "Is this a labels file? Images are the *-images-idx3-ubyte files",
    );
  }
  return { images: data, n: dims[0], height: dims[1], width: dims[2] };
}

/** Labels from decompressed IDX bytes: dims [n]. */
export function idxLabelsFromBytes(bytes: Uint8Array, file: string): Uint8Array {
  const { dims, data } = parseIdx(bytes, file);
  if (dims.length !== 1) {
    throw new DataFileError(
      file,
      `expected an IDX label file with 1 dimension, found ${dims.length} (${dims.join("x")})`,
      "Is this an images file? Labels are the *-labels-idx1-ubyte files",
    );
  }
  return data;
}

export function readIdxImages(file: string): IdxImages {
  return idxImagesFromBytes(readIdxBytes(file), file);
}

export function readIdxLabels(file: string): Uint8Array {
  return idxLabelsFromBytes(readIdxBytes(file), file);
}
