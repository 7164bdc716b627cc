/**
 * CIFAR-10 / CIFAR-100 "binary version" files. Each record is the label byte(s) then 3072 pixel
 * bytes: 1024 red, 1024 green, 1024 blue, each 32x32 row-major, so images are already CHW.
 * CIFAR-10: 1 label byte, 10000 records per batch file. CIFAR-100: coarse then fine label byte.
 */
import { basename } from "node:path";
import { DataFileError, REDOWNLOAD } from "./errors.js";
import { readDataFile } from "./read-file.js";
import { readTarMembers } from "./tar.js";

export type CifarVariant = "cifar10" | "cifar100";

export interface CifarImages {
  images: Uint8Array; // NCHW, 3x32x32
  labels: Uint8Array; // CIFAR-10 class, CIFAR-100 fine class
  coarseLabels?: Uint8Array; // CIFAR-100 only
  n: number;
}

const PIXELS = 3 * 32 * 32;
const LABEL_BYTES: Record<CifarVariant, number> = { cifar10: 1, cifar100: 2 };

/** Parses one binary batch (data_batch_k.bin, test_batch.bin, train.bin, test.bin). */
export function parseCifarBatch(bytes: Uint8Array, file: string, variant: CifarVariant): CifarImages {
  const labelBytes = LABEL_BYTES[variant];
  const record = labelBytes + PIXELS;
  if (bytes.length === 0 || bytes.length % record !== 0) {
    const other = variant === "cifar10" ? "CIFAR-100 (3074-byte records)" : "CIFAR-10 (3073-byte records)";
    throw new DataFileError(
      file,
      `wrong size for a ${variant} binary batch: ${bytes.length} bytes is not a whole number of ${record}-byte records (truncated, or a ${other} or python-pickle file)`,
      REDOWNLOAD,
    );
  }
  const n = bytes.length / record;
  const images = new Uint8Array(n * PIXELS);
  const labels = new Uint8Array(n);
  const coarse = variant === "cifar100" ? new Uint8Array(n) : undefined;
  const maxLabel = variant === "cifar10" ? 9 : 99;
  for (let i = 0; i < n; i++) {
    const r = i * record;
    const fine = bytes[r + labelBytes - 1];
    if (fine > maxLabel || (coarse && bytes[r] > 19)) {
      throw new DataFileError(
        file,
        `record ${i} has label ${fine}${coarse ? ` (coarse ${bytes[r]})` : ""}, out of range for ${variant}`,
        `${REDOWNLOAD}; check that the file belongs to ${variant}`,
      );
    }
    labels[i] = fine;
    if (coarse) coarse[i] = bytes[r];
    images.set(bytes.subarray(r + labelBytes, r + record), i * PIXELS);
  }
  return coarse ? { images, labels, coarseLabels: coarse, n } : { images, labels, n };
}

export function concatCifar(parts: CifarImages[]): CifarImages {
  const n = parts.reduce((a, p) => a + p.n, 0);
  const images = new Uint8Array(n * PIXELS);
  const labels = new Uint8Array(n);
  const coarse = parts[0]?.coarseLabels ? new Uint8Array(n) : undefined;
  let k = 0;
  for (const p of parts) {
    images.set(p.images, k * PIXELS);
    labels.set(p.labels, k);
    if (coarse && p.coarseLabels) coarse.set(p.coarseLabels, k);
    k += p.n;
  }
  return coarse ? { images, labels, coarseLabels: coarse, n } : { images, labels, n };
}

/** Reads and concatenates extracted batch files, in the order given. */
export function readCifarBatches(files: string[], variant: CifarVariant): CifarImages {
  return concatCifar(files.map((f) => parseCifarBatch(readDataFile(f), f, variant)));
}

/**
 * Reads batch files straight out of the official .tar.gz (no extraction on disk). `members` are
 * base names (data_batch_1.bin, ...); they are matched in any folder of the archive.
 */
export function readCifarFromTarGz(archive: string, members: string[], variant: CifarVariant): CifarImages {
  const wanted = new Set(members);
  const found = readTarMembers(archive, (p) => wanted.has(basename(p)));
  const byBase = new Map([...found].map(([p, data]) => [basename(p), { p, data }]));
  const missing = members.filter((m) => !byBase.has(m));
  if (missing.length > 0) {
    throw new DataFileError(
      archive,
      `the archive has no member named ${missing.join(", ")}`,
      `Is it the ${variant === "cifar10" ? "cifar-10-binary.tar.gz" : "cifar-100-binary.tar.gz"} (binary version, not the python or matlab one)? ${REDOWNLOAD}`,
    );
  }
  return concatCifar(
    members.map((m) => {
      const { p, data } = byBase.get(m)!;
      return parseCifarBatch(data, `${archive}:${p}`, variant);
    }),
  );
}
