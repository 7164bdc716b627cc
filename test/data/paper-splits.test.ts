// Each data set's out-of-distribution partner lives in the catalog; the splits a run is evaluated on
// during training and those the analyses use both follow from it.
import { describe, expect, it } from "vitest";
import { paperSplits, parseDatasetSplit, CATALOG, DATASET_NAMES } from "../../lib/data/index.js";
import { defaultEvalSplits } from "../../lib/train/run.js";
import { splitsFor } from "../../experiments/common.js";
import type { RunConfig } from "../../lib/train/run.js";

describe("the paper's splits", () => {
  it("pairs FashionMNIST with MNIST and CIFAR-10 with SVHN, both ways", () => {
    const partner = Object.fromEntries(DATASET_NAMES.filter((d) => CATALOG[d].oodPartner).map((d) => [d, CATALOG[d].oodPartner]));
    expect(partner).toEqual({ mnist: "fashion-mnist", "fashion-mnist": "mnist", cifar10: "svhn", svhn: "cifar10" });
    expect(paperSplits("cifar10:train")).toEqual({ train: "cifar10:train", test: "cifar10:test", ood: "svhn:test" });
    expect(paperSplits("cifar100:train")).toEqual({ train: "cifar100:train", test: "cifar100:test" });
  });

  it("tests a model trained on a part of MNIST's test split on the rest, and says so", () => {
    const s = paperSplits("mnist:test[:5000]");
    expect([s.test, s.ood]).toEqual(["mnist:test[5000:]", "fashion-mnist:test"]);
    expect(s.note).toMatch(/trained on mnist:test\[:5000\] and is tested on mnist:test\[5000:\]/);
    expect(paperSplits("mnist:train").note).toBeUndefined();
  });

  it("training's default evaluation and the analyses' splits agree", () => {
    for (const train of ["fashion-mnist:train", "mnist:test[:5000]", "cifar10:train", "svhn:train"]) {
      const a = splitsFor({ dataset: train } as RunConfig);
      expect(defaultEvalSplits(train)).toEqual([a.test, a.ood]);
    }
    // no partner: the analyses compare the test split with itself, training evaluates it alone
    expect(splitsFor({ dataset: "cifar100:train" } as RunConfig).ood).toBe("cifar100:test");
    expect(defaultEvalSplits("cifar100:train")).toEqual(["cifar100:test"]);
  });

  it("DATASET:SPLIT is one type, and a string without the colon is a one-line error", () => {
    expect(parseDatasetSplit("mnist:test[:5000]")).toEqual({ dataset: "mnist", split: "test[:5000]" });
    expect(() => parseDatasetSplit("mnist")).toThrow("bad split 'mnist': expected DATASET:SPLIT, e.g. mnist:test or fashion-mnist:train");
  });
});
