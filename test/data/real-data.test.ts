/**
 * The real data sets on this machine (see /work/shared/datasets/README.md): FashionMNIST from
 * Debian's package, the MNIST test split (re-compressed: checked by decompressed content).
 */
import { SHARED_DATASETS } from "../paths.js";
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readIdxBytes } from "../../lib/data/idx.js";
import { loadDataset } from "../../lib/data/load.js";
import type { ImageDataset } from "../../lib/data/types.js";
import { tempDir } from "./fixtures/writers.js";

const tmp = tempDir();
const cacheDir = join(tmp, "empty-cache"); // never populated: only the machine's copies are found
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const mnistOpts = { env: { TORCHTS_OOD_DATA: SHARED_DATASETS }, cacheDir };
const fashionOpts = { env: {}, cacheDir };

function classCounts(ds: ImageDataset): number[] {
  const c = new Array(10).fill(0);
  for (const l of ds.labels!) c[l]++;
  return c;
}
const meanPixel = (ds: ImageDataset) => ds.images.reduce((s, v) => s + v, 0) / ds.images.length / 255;

describe("real data on this machine", () => {
  it("MNIST test: 10000 28x28x1 images, decompressed md5s as in MD5SUMS.uncompressed", async () => {
    const sums = Object.fromEntries(
      readFileSync(`${SHARED_DATASETS}/mnist/MD5SUMS.uncompressed`, "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/).reverse()),
    );
    for (const f of ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]) {
      expect(
        createHash("md5")
          .update(readIdxBytes(`${SHARED_DATASETS}/mnist/${f}.gz`))
          .digest("hex"),
      ).toBe(sums[f]);
    }
    const ds = await loadDataset("mnist", "test", mnistOpts);
    expect([ds.n, ds.channels, ds.height, ds.width]).toEqual([10000, 1, 28, 28]);
    expect(classCounts(ds)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    expect(Array.from(ds.labels!.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    expect(Math.abs(meanPixel(ds) - 0.1325)).toBeLessThan(0.001);
    // held-out halves for the MNIST-train stand-in
    const [a, b] = await Promise.all([loadDataset("mnist", "test[:5000]", mnistOpts), loadDataset("mnist", "test[5000:]", mnistOpts)]);
    expect([a.n, b.n]).toEqual([5000, 5000]);
    expect(b.images[0]).toBe(ds.images[5000 * 784]);
  });

  it("FashionMNIST train and test: 60000 and 10000 28x28x1 images, balanced classes", async () => {
    const test = await loadDataset("fashion-mnist", "test", fashionOpts);
    expect([test.n, test.channels, test.height, test.width]).toEqual([10000, 1, 28, 28]);
    expect(classCounts(test)).toEqual(new Array(10).fill(1000));
    expect(test.labels![0]).toBe(9);
    const train = await loadDataset("fashion-mnist", "train", fashionOpts);
    expect([train.n, train.channels, train.height, train.width]).toEqual([60000, 1, 28, 28]);
    expect(classCounts(train)).toEqual(new Array(10).fill(6000));
    expect(Array.from(train.labels!.subarray(0, 4))).toEqual([9, 0, 0, 3]);
    expect(Math.abs(meanPixel(train) - 0.286)).toBeLessThan(0.001);
    const held = await loadDataset("fashion-mnist", "train[50000:]", fashionOpts);
    expect(held.n).toBe(10000);
  });
});
