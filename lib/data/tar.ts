/**
 * A small reader for (gzipped) tar archives held in memory, enough for the official CIFAR archives:
 * ustar/GNU/pax headers, regular files, GNU long names and pax `path` records. A dependency would
 * have to stream; here we want a few named members of an archive that fits in memory anyway.
 */
import { DataFileError, REDOWNLOAD } from "./errors.js";
import { maybeGunzip, readDataFile } from "./read-file.js";

const BLOCK = 512;

function field(h: Uint8Array, off: number, len: number): string {
  const end = h.subarray(off, off + len).indexOf(0);
  return Buffer.from(h.subarray(off, end < 0 ? off + len : off + end)).toString("utf8");
}

function octal(h: Uint8Array, off: number, len: number, file: string): number {
  if (h[off] & 0x80) {
    // GNU base-256 for sizes >= 8 GiB
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + h[i];
    return v;
  }
  const s = field(h, off, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new DataFileError(file, `not a tar archive or damaged: header field "${s}" is not an octal number`, REDOWNLOAD);
  return parseInt(s, 8);
}

function checksumOk(h: Uint8Array, file: string): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return sum === octal(h, 148, 8, file);
}

/** Parses pax extended header records "<len> key=value\n". */
function paxPath(data: Uint8Array): string | undefined {
  const text = Buffer.from(data).toString("utf8");
  for (const line of text.split("\n")) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Returns the regular-file members of the tar bytes whose path passes `wanted`, as views into `tar`
 * (no copy). Paths are as stored, e.g. `cifar-10-batches-bin/data_batch_1.bin`.
 */
export function extractTarMembers(tar: Uint8Array, file: string, wanted: (path: string) => boolean): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let off = 0;
  let longName: string | undefined;
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) return out; // end-of-archive marker
    if (!checksumOk(h, file)) {
      throw new DataFileError(file, `not a tar archive or damaged: bad header checksum at byte ${off}`, REDOWNLOAD);
    }
    const size = octal(h, 124, 12, file);
    const type = String.fromCharCode(h[156] || 0x30);
    const dataStart = off + BLOCK;
    if (dataStart + size > tar.length) {
      throw new DataFileError(
        file,
        `truncated tar archive: member "${field(h, 0, 100)}" needs ${size} bytes at byte ${dataStart}, the archive has ${tar.length}`,
        REDOWNLOAD,
      );
    }
    const data = tar.subarray(dataStart, dataStart + size);
    const prefix = field(h, 345, 155);
    let path = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    if (type === "L") {
      longName = field(data, 0, data.length);
    } else if (type === "x") {
      longName = paxPath(data);
    } else {
      longName = undefined;
      path = path.replace(/^\.\//, "");
      if ((type === "0" || type === "7") && wanted(path)) out.set(path, data);
    }
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (off < tar.length || off === 0) {
    throw new DataFileError(
      file,
      tar.length === 0 ? "empty file, not a tar archive" : `truncated tar archive: it ends inside a 512-byte block (${tar.length} bytes)`,
      REDOWNLOAD,
    );
  }
  return out; // archive without the two zero blocks: tolerated, every member was complete
}

/** Reads a .tar or .tar.gz file and returns the wanted members. */
export function readTarMembers(file: string, wanted: (path: string) => boolean): Map<string, Uint8Array> {
  return extractTarMembers(maybeGunzip(readDataFile(file), file), file, wanted);
}
