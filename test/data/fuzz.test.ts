// The hand-written parsers of lib/data (IDX, gzip, tar, zip/.npz, .npy, MATLAB v5, CIFAR batches) on
// thousands of random mutations of valid fixtures: byte flips, size fields set to 0 or huge values,
// truncations, duplicated and inserted runs. Each must decode or end in a DataFileError (a clear message
// naming the file); never another exception (a TypeError, an allocation failure), a hang or a crash.
// Seeded, so a failure names the format and the case that reproduces it.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataFileError } from "../../lib/data/errors.js";
import { idxImagesFromBytes, idxLabelsFromBytes } from "../../lib/data/idx.js";
import { maybeGunzip } from "../../lib/data/read-file.js";
import { extractTarMembers } from "../../lib/data/tar.js";
import { parseNpy, npyToInt32 } from "../../lib/data/npy.js";
import { imagesFromNpy, readNpzFile } from "../../lib/data/npz.js";
import { svhnFromMatBytes } from "../../lib/data/svhn.js";
import { parseCifarBatch } from "../../lib/data/cifar.js";
import { cifarBytes, gzip, idxBytes, matBytes, npyBytes, patternBytes, svhnVars, tarBytes, tempDir, zipBytes } from "./fixtures/writers.js";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mulberry32: a small seeded generator, so every case can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SIZES = [0, 1, 0x7f, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** One random mutation of `bytes`: what a damaged download, a bad disk or a hostile file could hold. */
function mutate(bytes: Uint8Array, r: () => number): Uint8Array {
  const b = Uint8Array.from(bytes);
  const at = () => Math.floor(r() * b.length);
  const op = Math.floor(r() * 6);
  if (op === 0) {
    for (let k = 1 + Math.floor(r() * 8); k > 0; k--) b[at()] = Math.floor(r() * 256);
    return b;
  }
  if (op === 1 || op === 2) {
    // a size or offset field: a 4-byte window set to an edge value, either byte order
    const p = Math.min(at(), Math.max(0, b.length - 4));
    const v = SIZES[Math.floor(r() * SIZES.length)]!;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (b.length >= 4) view.setUint32(p, v, op === 1);
    return b;
  }
  if (op === 3) return b.subarray(0, at());
  if (op === 4) {
    const p = at(),
      len = Math.floor(r() * 64);
    return Uint8Array.from([...b.subarray(0, p), ...b.subarray(p, p + len), ...b.subarray(p)]);
  }
  const p = at();
  const junk = Uint8Array.from({ length: 1 + Math.floor(r() * 16) }, () => Math.floor(r() * 256));
  return Uint8Array.from([...b.subarray(0, p), ...junk, ...b.subarray(p)]);
}

/** Runs `parse` on `cases` mutations; returns the first that ended in something other than a DataFileError. */
function fuzz(name: string, base: Uint8Array, cases: number, parse: (bytes: Uint8Array) => unknown): string | null {
  const r = rng(name.length * 7919 + cases);
  for (let i = 0; i < cases; i++) {
    const m = mutate(base, r);
    try {
      parse(m);
    } catch (e) {
      if (!(e instanceof DataFileError)) return `${name} case ${i}: ${(e as Error).name}: ${(e as Error).message}`;
    }
  }
  return null;
}

const N = 2000;
const labels = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) % k);

describe("the data parsers on random damage end in a DataFileError", () => {
  it("IDX images and labels, raw and gzipped", () => {
    const images = idxBytes([3, 28, 28], patternBytes(3 * 784, 1));
    expect(fuzz("idx images", images, N, (b) => idxImagesFromBytes(b, "f"))).toBeNull();
    expect(fuzz("idx labels", idxBytes([5], labels(5, 10)), N, (b) => idxLabelsFromBytes(b, "f"))).toBeNull();
    expect(fuzz("idx.gz", gzip(images), N, (b) => idxImagesFromBytes(maybeGunzip(b, "f"), "f"))).toBeNull();
  });

  it("tar archives, raw and gzipped (CIFAR's)", () => {
    const tar = tarBytes([
      { name: "cifar-10-batches-bin/data_batch_1.bin", data: cifarBytes(patternBytes(2 * 3072, 2), labels(2, 10)) },
      { name: "cifar-10-batches-bin/test_batch.bin", data: cifarBytes(patternBytes(3072, 3), labels(1, 10)) },
    ]);
    expect(fuzz("tar", tar, N, (b) => extractTarMembers(b, "f", () => true))).toBeNull();
    expect(fuzz("tar.gz", gzip(tar), N, (b) => extractTarMembers(maybeGunzip(b, "f"), "f", () => true))).toBeNull();
  });

  it("CIFAR batches", () => {
    expect(fuzz("cifar10", cifarBytes(patternBytes(2 * 3072, 4), labels(2, 10)), N, (b) => parseCifarBatch(b, "f", "cifar10"))).toBeNull();
    const c100 = cifarBytes(patternBytes(2 * 3072, 5), labels(2, 100), labels(2, 20));
    expect(fuzz("cifar100", c100, N, (b) => parseCifarBatch(b, "f", "cifar100"))).toBeNull();
  });

  it(".npy arrays, and .npz archives stored and deflated", () => {
    const images = npyBytes("|u1", [2, 8, 8, 3], patternBytes(2 * 192, 6));
    const lab = npyBytes("<i8", [2], new Uint8Array(16));
    expect(fuzz("npy", images, N, (b) => imagesFromNpy(parseNpy(b, "f"), "f"))).toBeNull();
    expect(fuzz("npy labels", lab, N, (b) => npyToInt32(parseNpy(b, "f"), "f"))).toBeNull();
    const file = join(dir, "fuzz.npz");
    for (const method of [0, 8] as const) {
      const npz = zipBytes(
        [
          { name: "images.npy", data: images },
          { name: "labels.npy", data: lab },
        ],
        { method },
      );
      const found = fuzz(`npz method ${method}`, npz, N / 4, (b) => {
        writeFileSync(file, b);
        return readNpzFile(file);
      });
      expect(found).toBeNull();
    }
  });

  it("MATLAB v5 files (SVHN's), compressed and not", () => {
    const vars = svhnVars(patternBytes(2 * 3072, 7), Uint8Array.of(1, 10));
    for (const compressed of [false, true]) {
      const mat = matBytes(vars, { compressed });
      expect(fuzz(`mat compressed=${compressed}`, mat, N, (b) => svhnFromMatBytes(b, "f"))).toBeNull();
    }
  });
});
