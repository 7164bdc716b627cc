// The validation split (lib/train/val-split.ts): the default rule, overlap checks, and `train --val-split`.
import { describe, expect, it } from "vitest";
import { carveValidation, namesDatasetSplit, splitsOverlap, validationSize } from "../../lib/train/val-split.js";

const sizes = (dataset: string, base: string) => (base === "train" ? 60000 : 10000) + (dataset === "mnist" ? 0 : 0);

describe("the validation split", () => {
  it("holds out the last 5,000 images of a large training split, the last tenth of a small one", () => {
    expect(carveValidation("fashion-mnist:train", 60000)).toEqual({ train: "fashion-mnist:train[:-5000]", val: "fashion-mnist:train[-5000:]" });
    expect(carveValidation("mnist:test[:5000]", 5000)).toEqual({ train: "mnist:test[:4500]", val: "mnist:test[4500:5000]" });
    expect(carveValidation("mnist:train[100:]", 59900)).toEqual({ train: "mnist:train[100:-5000]", val: "mnist:train[-5000:]" });
    expect(validationSize(49999)).toBe(5000);
    // A run of some classes validates on the same classes.
    expect(carveValidation("fashion-mnist:train{0-4}", 60000)).toEqual({ train: "fashion-mnist:train[:-5000]{0-4}", val: "fashion-mnist:train[-5000:]{0-4}" });
    expect(() => carveValidation("mnist:test[:1]", 1)).toThrow(/too few to hold out a validation split; name one with --val-split/);
  });

  it("knows when two splits share images", () => {
    expect(splitsOverlap("fashion-mnist:train[:-5000]", "fashion-mnist:train[-5000:]", sizes)).toBe(false);
    expect(splitsOverlap("fashion-mnist:train[:55001]", "fashion-mnist:train[-5000:]", sizes)).toBe(true);
    expect(splitsOverlap("mnist:test[:5000]", "mnist:test[5000:7500]", sizes)).toBe(false);
    expect(splitsOverlap("mnist:test", "mnist:test[7500:]", sizes)).toBe(true);
    expect(splitsOverlap("mnist:test", "fashion-mnist:test", sizes)).toBe(false);
    expect(splitsOverlap("mnist:test", "grayed:0.5", sizes)).toBe(false);
    // Classes: the same range shares no image when the classes are disjoint.
    expect(splitsOverlap("mnist:test[5000:7500]{0-4}", "mnist:test[5000:7500]{5-9}", sizes)).toBe(false);
    expect(splitsOverlap("mnist:test[5000:7500]{0-4}", "mnist:test[5000:7500]{4-9}", sizes)).toBe(true);
    expect(splitsOverlap("mnist:test[5000:7500]{0-4}", "mnist:test", sizes)).toBe(true);
    expect(namesDatasetSplit("test[5000:7500]")).toBe(false);
    expect(namesDatasetSplit("grayed:0.5")).toBe(false);
    expect(namesDatasetSplit("mnist:test[5000:7500]")).toBe(true);
  });
});
