import { SHARED_DATASETS } from "../paths.js";
import { rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CATALOG, DATASET_NAMES, getCatalogEntry } from "../../lib/data/catalog.js";
import { DatasetNotFoundError, defaultCacheRoot, findSplit, locateSplit, searchPlaces } from "../../lib/data/locate.js";
import { idxBytes, tempDir, writeFile } from "./fixtures/writers.js";

const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function mnistTestFiles(root: string): void {
  writeFile(join(root, "mnist", "t10k-images-idx3-ubyte"), idxBytes([1, 28, 28], new Uint8Array(784)));
  writeFile(join(root, "mnist", "t10k-labels-idx1-ubyte"), idxBytes([1], new Uint8Array(1)));
}

describe("catalog", () => {
  it("has the CLI names, official URLs and md5s", () => {
    expect([...DATASET_NAMES]).toEqual(["mnist", "fashion-mnist", "cifar10", "cifar100", "svhn", "celeba", "imagenet32"]);
    expect(CATALOG.mnist.splits.train.downloads.map((d) => [d.url, d.md5])).toEqual([
      ["https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"],
      ["https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"],
    ]);
    expect(CATALOG["fashion-mnist"].splits.test.downloads[0]).toEqual({
      url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz",
      file: "t10k-images-idx3-ubyte.gz",
      md5: "bef4ecab320f06d8554ea6380940ec79",
    });
    expect(CATALOG.cifar10.splits.train.downloads[0].md5).toBe("c32a1d4ab5d03f1284b67883e8d87530");
    expect(CATALOG.cifar100.splits.test.downloads[0].url).toBe("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz");
    expect(CATALOG.svhn.splits.test.downloads[0]).toEqual({
      url: "http://ufldl.stanford.edu/housenumbers/test_32x32.mat",
      file: "test_32x32.mat",
      md5: "eb5a983be6a315427106f1b164d9cef3",
    });
    expect(CATALOG.celeba.splits.test.downloads).toEqual([]);
    expect(CATALOG.celeba.instructions).toMatch(/celeba\/test\.npz/);
    expect(() => getCatalogEntry("mnist-train")).toThrow(/Unknown data set "mnist-train". Known data sets: mnist, fashion-mnist/);
  });
});

describe("locate", () => {
  it("searches --data-dir, then $TORCHTS_OOD_DATA roots, then the cache, then system folders", () => {
    const places = searchPlaces("fashion-mnist", { dataDir: "/d", cacheDir: "/c", env: { TORCHTS_OOD_DATA: "/e1:/e2" } });
    expect(places.map((p) => p.dir)).toEqual([
      "/d/fashion-mnist",
      "/e1/fashion-mnist",
      "/e2/fashion-mnist",
      "/c/fashion-mnist",
      "/usr/share/datasets/fashion-mnist",
    ]);
    expect(defaultCacheRoot({ XDG_CACHE_HOME: "/x" })).toBe("/x/torchts-ood");
    expect(defaultCacheRoot({})).toBe(join(homedir(), ".cache", "torchts-ood"));
  });

  it("takes the first place holding a complete split", () => {
    const [d, e, c] = ["d", "e", "c"].map((k) => join(tmp, k));
    for (const r of [d, e, c]) mnistTestFiles(r);
    writeFile(join(tmp, "partial", "mnist", "t10k-images-idx3-ubyte.gz"), new Uint8Array(1)); // labels missing: skipped
    const env = { TORCHTS_OOD_DATA: `${join(tmp, "partial")}:${e}` };
    expect(findSplit("mnist", "test", { dataDir: d, cacheDir: c, env })?.origin).toBe("dataDir option (--data-dir)");
    const fromEnv = findSplit("mnist", "test", { cacheDir: c, env });
    expect(fromEnv?.origin).toBe("$TORCHTS_OOD_DATA");
    expect(fromEnv?.paths).toEqual([join(e, "mnist", "t10k-images-idx3-ubyte"), join(e, "mnist", "t10k-labels-idx1-ubyte")]);
    expect(findSplit("mnist", "test", { cacheDir: c, env: {} })?.origin).toBe("download cache");
    expect(findSplit("mnist", "train", { dataDir: d, cacheDir: c, env })).toBeUndefined();
  });

  it("finds the MNIST test split on this machine through TORCHTS_OOD_DATA=../shared/datasets", () => {
    const loc = locateSplit("mnist", "test", { env: { TORCHTS_OOD_DATA: SHARED_DATASETS }, cacheDir: join(tmp, "none") });
    expect(loc.paths).toEqual([`${SHARED_DATASETS}/mnist/t10k-images-idx3-ubyte.gz`, `${SHARED_DATASETS}/mnist/t10k-labels-idx1-ubyte.gz`]);
  });

  it("finds FashionMNIST in Debian's system folder", () => {
    const loc = locateSplit("fashion-mnist", "train", { env: {}, cacheDir: join(tmp, "none") });
    expect(loc.dir).toBe("/usr/share/datasets/fashion-mnist");
    expect(loc.origin).toBe("system data folder");
  });

  it("finds CIFAR either extracted or as the official archive", () => {
    const root = join(tmp, "cifar");
    writeFile(join(root, "cifar10", "cifar-10-binary.tar.gz"), new Uint8Array(1));
    const tar = findSplit("cifar10", "test", { dataDir: root, env: {}, cacheDir: join(tmp, "none") });
    expect(tar?.source.format).toBe("cifar10-tar");
    expect(tar?.paths).toEqual([join(root, "cifar10", "cifar-10-binary.tar.gz"), "test_batch.bin"]);
    writeFile(join(root, "cifar10", "cifar-10-batches-bin", "test_batch.bin"), new Uint8Array(1));
    expect(findSplit("cifar10", "test", { dataDir: root, env: {}, cacheDir: join(tmp, "none") })?.source.format).toBe("cifar10-bin");
  });

  it("names every place it looked, the expected files and the URLs when a split is missing", () => {
    const cache = join(tmp, "emptycache");
    const opts = { dataDir: join(tmp, "nodata"), cacheDir: cache, env: { TORCHTS_OOD_DATA: SHARED_DATASETS } };
    let err: unknown;
    try {
      locateSplit("mnist", "train", opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DatasetNotFoundError);
    expect((err as DatasetNotFoundError).downloadable).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toContain('Data set "mnist" (MNIST), split "train", was not found');
    expect(msg).toContain(`${join(tmp, "nodata", "mnist")}  (dataDir option (--data-dir))`);
    expect(msg).toContain(`${SHARED_DATASETS}/mnist  ($TORCHTS_OOD_DATA)`);
    expect(msg).toContain(`${join(cache, "mnist")}  (download cache)`);
    expect(msg).toContain("train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz");
    expect(msg).toContain("https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz");
    expect(msg).toMatch(/download: true \(CLI: --download\)/);
    expect(() => locateSplit("celeba", "test", { env: {}, cacheDir: cache })).toThrow(
      /no --data-dir given and \$TORCHTS_OOD_DATA is not set[\s\S]*CelebA has no single-file official download/,
    );
  });
});
