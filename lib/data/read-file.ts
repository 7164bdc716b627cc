import { FileReadError, readRegularFile } from "../files.js";
import { gunzipSync } from "node:zlib";
import { DataFileError, REDOWNLOAD, asPlainBytes } from "./errors.js";

/** The largest data file read in one piece (Node's limit for one read). */
export const MAX_DATA_FILE = 2 ** 31 - 1;

/**
 * Reads a whole regular file (not a FIFO or a device: lib/files.ts), turning "no such file" into a
 * message that names the file and the fix.
 */
export function readDataFile(file: string): Uint8Array {
  try {
    return asPlainBytes(readRegularFile(file, MAX_DATA_FILE, "the data file"));
  } catch (e) {
    const err = e as FileReadError;
    if (err.code === "ENOENT")
      throw new DataFileError(file, "the file does not exist", "Check the path, or fetch the data set with download: true (CLI --download)");
    if (err.code === "ETOOBIG") throw new DataFileError(file, `the file is too large to read in one piece (${err.message})`, "Split it into smaller files");
    if (err.code === "ENOTREG") throw new DataFileError(file, err.message.replace(`${file}: `, ""), "Point the data set's path at the real files");
    throw new DataFileError(file, `could not be read (${err.message})`, "Check its permissions");
  }
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Returns the bytes gunzipped when they start with the gzip magic 1f 8b, unchanged otherwise. */
export function maybeGunzip(bytes: Uint8Array, file: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return asPlainBytes(gunzipSync(bytes, { maxOutputLength: MAX_DATA_FILE })); // a gzip bomb ends in an error
  } catch (e) {
    throw new DataFileError(file, `the gzip stream is damaged or truncated (zlib: ${(e as Error).message})`, REDOWNLOAD);
  }
}
