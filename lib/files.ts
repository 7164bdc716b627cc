// Bounded reads of files named by callers or found in run folders. A path may be a link to /dev/zero or
// /dev/urandom (endless: a plain read fills memory), or a FIFO (a read, or even an open, blocks the event
// loop until some writer appears). So: open without blocking, fstat the open file, refuse anything but a
// regular file, refuse one larger than the caller's limit, and read exactly the size fstat gave.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

/** A file that cannot be read as asked: names the file, what it is, and what to do. */
export class FileReadError extends Error {
  constructor(
    readonly path: string,
    problem: string,
    readonly code?: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = "FileReadError";
  }
}

const KIND: [(s: ReturnType<typeof fstatSync>) => boolean, string][] = [
  [(s) => s.isDirectory(), "a directory"],
  [(s) => s.isFIFO(), "a FIFO (named pipe)"],
  [(s) => s.isCharacterDevice(), "a character device (such as /dev/zero)"],
  [(s) => s.isBlockDevice(), "a block device"],
  [(s) => s.isSocket(), "a socket"],
];

/**
 * Opens `path` read-only for a bounded read: returns the descriptor and the file's size. The caller
 * closes it. O_NONBLOCK makes opening a FIFO return at once (it is then refused by fstat); it has no
 * effect on reads of a regular file.
 */
export function openRegularFile(path: string, maxBytes: number, what = "the file"): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new FileReadError(path, `cannot open ${what} (${err.code === "ENOENT" ? "no such file" : err.message})`, err.code);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = KIND.find(([is]) => is(st))?.[1] ?? "not a regular file";
      throw new FileReadError(path, `${what} is ${kind}, not a regular file: point it at a real file`, "ENOTREG");
    }
    if (st.size > maxBytes)
      throw new FileReadError(path, `${what} is ${st.size} bytes, more than the ${maxBytes} this reader accepts: it is not the file expected`, "ETOOBIG");
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * Reads `length` bytes at `position`, all of them or an error (a file that shrank while read), into a
 * fresh buffer of its own (not a slice of Node's pool, so its start is aligned for any element type).
 */
export function readExactly(fd: number, path: string, length: number, position: number): Buffer {
  const buf = Buffer.from(new ArrayBuffer(length));
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new FileReadError(path, `ends after ${position + got} bytes, ${position + length} expected (truncated while read?)`, "ESHORT");
    got += n;
  }
  return buf;
}

/** The whole of a regular file of at most `maxBytes` bytes. */
export function readRegularFile(path: string, maxBytes: number, what = "the file"): Buffer {
  const { fd, size } = openRegularFile(path, maxBytes, what);
  try {
    return readExactly(fd, path, size, 0);
  } finally {
    closeSync(fd);
  }
}

/** The same, as UTF-8 text. */
export const readTextFile = (path: string, maxBytes: number, what = "the file"): string => readRegularFile(path, maxBytes, what).toString("utf8");

export const MiB = 1024 * 1024;
