/**
 * Errors raised on bad data files. Every message says which file, what was wrong and what to do,
 * because the person reading it is usually running a long experiment from the command line.
 */
export class DataFileError extends Error {
  readonly file: string;
  constructor(file: string, problem: string, remedy: string) {
    super(`${file}: ${problem}. ${remedy}`);
    this.name = "DataFileError";
    this.file = file;
  }
}

/** What to do when an official file is damaged: it is cheaper to fetch it again than to debug it. */
export const REDOWNLOAD = "Delete the file and download it again (loadDataset with download: true, or the CLI --download)";

/** Describes the first bytes of a file, so that e.g. an HTML error page saved as data is recognisable. */
export function describeStart(bytes: Uint8Array): string {
  const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
  const text = Buffer.from(bytes.subarray(0, 64)).toString("latin1").trimStart().toLowerCase();
  const html = text.startsWith("<!doctype html") || text.startsWith("<html") || text.startsWith("<?xml");
  return `starts with ${hex || "(empty file)"}${html ? " (it looks like an HTML/XML page, e.g. a saved error page)" : ""}`;
}

/** A plain Uint8Array view of the same memory (Buffers compare unequal to Uint8Arrays in tests and in user code). */
export function asPlainBytes(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
