import { rmSync } from "node:fs";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clearDatasetCache, loadDataset, sliceDataset } from "../../lib/data/load.js";
import { formatSplit, parseSplit, resolveRange } from "../../lib/data/split.js";
import { cifarBytes, gzip, idxBytes, matBytes, npyBytes, patternBytes, svhnVars, tarBytes, tempDir, toNhwc, writeFile, zipBytes } from "./fixtures/writers.js";

const root = tempDir();
const noCache = join(root, "no-cache");
/** Only the fixture root: no environment, no machine folders. */
const opts = { dataDir: root, cacheDir: noCache, env: {}, systemDirs: [] as string[], verify: false };
afterAll(() => rmSync(root, { recursive: true, force: true }));

const img32 = (n: number, seed: number) => patternBytes(n * 3072, seed);
const labels = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) % k);

beforeAll(() => {
  // mnist: 30 images, gzipped IDX
  writeFile(join(root, "mnist", "t10k-images-idx3-ubyte.gz"), gzip(idxBytes([30, 28, 28], patternBytes(30 * 784, 1))));
  writeFile(join(root, "mnist", "t10k-labels-idx1-ubyte.gz"), gzip(idxBytes([30], labels(30, 10))));
  // fashion-mnist: raw IDX
  writeFile(join(root, "fashion-mnist", "train-images-idx3-ubyte"), idxBytes([12, 28, 28], patternBytes(12 * 784, 2)));
  writeFile(join(root, "fashion-mnist", "train-labels-idx1-ubyte"), idxBytes([12], labels(12, 10)));
  // cifar10: official archive only
  const members = [1, 2, 3, 4, 5].map((k) => ({ name: `cifar-10-batches-bin/data_batch_${k}.bin`, data: cifarBytes(img32(2, 10 + k), labels(2, 10)) }));
  members.push({ name: "cifar-10-batches-bin/test_batch.bin", data: cifarBytes(img32(4, 20), labels(4, 10)) });
  writeFile(join(root, "cifar10", "cifar-10-binary.tar.gz"), gzip(tarBytes(members)));
  // cifar100: extracted
  writeFile(join(root, "cifar100", "cifar-100-binary", "test.bin"), cifarBytes(img32(5, 30), labels(5, 100), labels(5, 20)));
  // svhn
  writeFile(join(root, "svhn", "test_32x32.mat"), matBytes(svhnVars(img32(6, 40), Uint8Array.of(0, 1, 2, 3, 4, 0)), { compressed: true }));
  // celeba: npz (NHWC) for test, a PNG folder for train
  writeFile(
    join(root, "celeba", "test.npz"),
    zipBytes([{ name: "images.npy", data: npyBytes("|u1", [3, 32, 32, 3], toNhwc(img32(3, 50), 3, 3, 32, 32)) }], { method: 8 }),
  );
  for (let k = 0; k < 2; k++) {
    const png = new PNG({ width: 32, height: 32 });
    png.data = Buffer.alloc(32 * 32 * 4, 40 * (k + 1));
    writeFile(join(root, "celeba", "train", `${k}.png`), PNG.sync.write(png));
  }
  // a 16x16 image among 32x32 ones is caught by the size check (separate data root)
  const small = jpeg.encode({ width: 16, height: 16, data: Buffer.alloc(16 * 16 * 4, 90) }, 90).data;
  writeFile(join(root, "bad", "celeba", "test", "a.jpg"), small);
  // imagenet32: official batch files
  for (let k = 1; k <= 10; k++) {
    writeFile(
      join(root, "imagenet32", `train_data_batch_${k}.npz`),
      zipBytes(
        [
          { name: "data.npy", data: npyBytes("|u1", [1, 3072], img32(1, 60 + k)) },
          { name: "labels.npy", data: npyBytes("<i8", [1], Buffer.from(new BigInt64Array([BigInt(k)]).buffer)) },
        ],
        { method: 0 },
      ),
    );
  }
});

describe("split strings", () => {
  it("parses ranges of the official splits like Python slices", () => {
    expect(parseSplit("train")).toEqual({ base: "train" });
    expect(parseSplit("train[:50000]")).toEqual({ base: "train", end: 50000 });
    expect(parseSplit("train[50000:]")).toEqual({ base: "train", start: 50000 });
    expect(parseSplit("test[ -1000 : ]")).toEqual({ base: "test", start: -1000 });
    expect(resolveRange(parseSplit("test[-1000:]"), 10000)).toEqual([9000, 10000]);
    expect(resolveRange(parseSplit("test[5000:-1000]"), 10000)).toEqual([5000, 9000]);
    expect(() => parseSplit("validation")).toThrow(/Bad split "validation": expected train, test, or a range/);
    expect(() => parseSplit("train[1:2:3]")).toThrow(/Bad split/);
    expect(() => resolveRange(parseSplit("test[:20000]"), 10000)).toThrow(/has 10000 images; index 20000 is out of range/);
    expect(() => resolveRange(parseSplit("test[5:5]"), 10000)).toThrow(/selects no images/);
  });

  it("selects classes by label after the range, and writes them back compactly", () => {
    expect(parseSplit("train[:55000]{0-4}")).toEqual({ base: "train", end: 55000, classes: [0, 1, 2, 3, 4] });
    expect(parseSplit("test{7, 2,3-4,2}")).toEqual({ base: "test", classes: [2, 3, 4, 7] });
    expect(formatSplit(parseSplit("test{7,2,3-4}"))).toBe("test{2-4,7}");
    expect(formatSplit(parseSplit("train[55000:]{0-4,9}"))).toBe("train[55000:]{0-4,9}");
    expect(() => parseSplit("train{4-1}")).toThrow(/Bad classes "\{4-1\}" in split "train\{4-1\}": expected class labels and ranges/);
    expect(() => parseSplit("train{a}")).toThrow(/Bad classes/);
    expect(() => parseSplit("train{}")).toThrow(/Bad classes/);
  });
});

describe("loadDataset on fixtures in the official formats", () => {
  it("loads every format into NCHW uint8 with labels", async () => {
    clearDatasetCache();
    const cases = [
      ["mnist", "test", 30, 1, 28],
      ["fashion-mnist", "train", 12, 1, 28],
      ["cifar10", "train", 10, 3, 32],
      ["cifar10", "test", 4, 3, 32],
      ["cifar100", "test", 5, 3, 32],
      ["svhn", "test", 6, 3, 32],
      ["celeba", "test", 3, 3, 32],
      ["celeba", "train", 2, 3, 32],
      ["imagenet32", "train", 10, 3, 32],
    ] as const;
    for (const [name, split, n, c, hw] of cases) {
      const ds = await loadDataset(name, split, opts);
      expect([ds.name, ds.split, ds.n, ds.channels, ds.height, ds.width], `${name} ${split}`).toEqual([name, split, n, c, hw, hw]);
      expect(ds.images.length).toBe(n * c * hw * hw);
    }
    expect(Buffer.from((await loadDataset("cifar10", "test", opts)).images).equals(Buffer.from(img32(4, 20)))).toBe(true);
    expect(Buffer.from((await loadDataset("svhn", "test", opts)).images).equals(Buffer.from(img32(6, 40)))).toBe(true);
    expect(Array.from((await loadDataset("svhn", "test", opts)).labels!)).toEqual([0, 1, 2, 3, 4, 0]);
    expect(Buffer.from((await loadDataset("celeba", "test", opts)).images).equals(Buffer.from(img32(3, 50)))).toBe(true);
    expect((await loadDataset("celeba", "train", opts)).images[3072]).toBe(80);
    expect(Array.from((await loadDataset("imagenet32", "train", opts)).labels!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(Array.from((await loadDataset("cifar100", "test", opts)).labels!)).toEqual(Array.from(labels(5, 100)));
  });

  it("returns held-out ranges as views of one cached copy", async () => {
    clearDatasetCache();
    const whole = await loadDataset("mnist", "test", opts);
    expect(await loadDataset("mnist", "test", opts)).toBe(whole);
    const head = await loadDataset("mnist", "test[:20]", opts);
    const tail = await loadDataset("mnist", "test[20:]", opts);
    expect([head.split, head.n, tail.split, tail.n]).toEqual(["test[:20]", 20, "test[20:]", 10]);
    expect(head.images.buffer).toBe(whole.images.buffer);
    expect(Array.from(tail.images.subarray(0, 784))).toEqual(Array.from(whole.images.subarray(20 * 784, 21 * 784)));
    expect(Array.from(tail.labels!)).toEqual(Array.from(whole.labels!.subarray(20)));
    const last = await loadDataset("mnist", "test[-5:]", opts);
    expect(Array.from(last.labels!)).toEqual(Array.from(whole.labels!.subarray(25)));
    await expect(loadDataset("mnist", "test[:31]", opts)).rejects.toThrow(/mnist test" has 30 images; index 31 is out of range/);
    expect(() => sliceDataset(whole, 5, 3)).toThrow(/bad range \[5, 3\)/);
  });

  it("keeps the images of the classes a split names, in order, with their labels", async () => {
    clearDatasetCache();
    const whole = await loadDataset("mnist", "test", opts); // labels (7i) mod 10
    const some = await loadDataset("mnist", "test[10:]{0-2,9}", opts);
    const expected = Array.from({ length: 20 }, (_, k) => k + 10).filter((i) => [0, 1, 2, 9].includes(whole.labels![i]!));
    expect(some.split).toBe("test[10:]{0-2,9}");
    expect(Array.from(some.labels!)).toEqual(expected.map((i) => whole.labels![i]!));
    expect(some.n).toBe(expected.length);
    expected.forEach((i, k) =>
      expect(Buffer.from(some.images.subarray(k * 784, (k + 1) * 784)).equals(Buffer.from(whole.images.subarray(i * 784, (i + 1) * 784)))).toBe(true),
    );
    await expect(loadDataset("mnist", "test[:3]{5}", opts)).rejects.toThrow(/mnist test\[:3\]\{5\} has no image of classes \{5\}/);
    await expect(loadDataset("celeba", "test{0}", opts)).rejects.toThrow(/celeba test\{0\} has no labels, so its images cannot be selected by class/);
    const int32 = await loadDataset("imagenet32", "train{9-10}", opts); // labels kept as Int32Array
    expect([int32.labels instanceof Int32Array, Array.from(int32.labels!)]).toEqual([true, [9, 10]]);
  });

  it("rejects a copy whose count or size is not the official one", async () => {
    clearDatasetCache();
    await expect(loadDataset("mnist", "test", { ...opts, verify: true })).rejects.toThrow(
      /decompressed content has md5|holds 30 images, the official mnist test split has 10000/,
    );
    await expect(loadDataset("cifar10", "test", { ...opts, verify: true })).rejects.toThrow(
      /cifar-10-binary\.tar\.gz: holds 4 images, the official cifar10 test split has 10000/,
    );
    await expect(loadDataset("celeba", "test", { ...opts, dataDir: join(root, "bad") })).rejects.toThrow(
      /images are 3x16x16 \(CxHxW\), celeba images are 3x32x32/,
    );
  });

  it("rejects unknown names and says what is missing", async () => {
    await expect(loadDataset("cifar-10", "test", opts)).rejects.toThrow(/Unknown data set "cifar-10"/);
    await expect(loadDataset("svhn", "train", opts)).rejects.toThrow(
      /split "train", was not found[\s\S]*train_32x32\.mat[\s\S]*http:\/\/ufldl\.stanford\.edu\/housenumbers\/train_32x32\.mat/,
    );
  });

  it("refuses a label that is not a class of the data set, with verify: false too (250 used to pass)", async () => {
    const bad = tempDir();
    const l = labels(3, 10);
    l[2] = 250;
    writeFile(join(bad, "mnist", "train-images-idx3-ubyte"), idxBytes([3, 28, 28], patternBytes(3 * 784, 5)));
    writeFile(join(bad, "mnist", "train-labels-idx1-ubyte"), idxBytes([3], l));
    await expect(loadDataset("mnist", "train", { ...opts, dataDir: bad })).rejects.toThrow(
      /train-labels-idx1-ubyte: label 250 of image 2 is not a class of mnist \(0 to 9\); the file is damaged or not the official one/,
    );
    rmSync(bad, { recursive: true, force: true });
  });

  it("checks its options by schema: a misspelt option is an error, not ignored", async () => {
    await expect(loadDataset("mnist", "test", { ...opts, donwload: true } as never)).rejects.toThrow(/^loadDataset options: unknown field\(s\) "donwload"/);
    await expect(loadDataset("mnist", "test", { ...opts, verify: "no" } as never)).rejects.toThrow(/"verify" expected boolean, received string, got "no"/);
  });
});
