// Seed sweeps: the --seeds list and the folders and arguments printed for the ensemble.
import { describe, expect, it } from "vitest";
import { parseSeeds, seedRunDir, shellWord } from "../../lib/train/seeds.js";

describe("seed sweeps", () => {
  it("reads lists, ranges and both, in the order given", () => {
    expect(parseSeeds("1,2,3,4,5")).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeeds("1-5")).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeeds(" 7, 0-2 ,4-4")).toEqual([7, 0, 1, 2, 4]);
  });

  it("refuses what is not a list of distinct seeds, saying how to write one", () => {
    expect(() => parseSeeds("")).toThrow(/^--seeds needs seeds: give integers >= 0 .* e.g. --seeds 1,2,3,4,5 or --seeds 1-5$/);
    expect(() => parseSeeds("1,,2")).toThrow(/^--seeds 1,,2: '' is not a seed or a range/);
    expect(() => parseSeeds("-1")).toThrow(/'-1' is not a seed or a range/);
    expect(() => parseSeeds("1.5")).toThrow(/'1.5' is not a seed or a range/);
    expect(() => parseSeeds("4-2")).toThrow(/^--seeds 4-2: the range 4-2 is empty: write it low-high, e.g. 2-4$/);
    expect(() => parseSeeds("1-3,2")).toThrow(/^--seeds 1-3,2: seed 2 is listed twice/);
    expect(() => parseSeeds("0-5000")).toThrow(/the range 0-5000 holds 5001 seeds; at most 1000/);
  });

  it("names each run OUT/seed-N and prints folders as shell words", () => {
    expect(seedRunDir("runs/glow-ens", 3)).toBe("runs/glow-ens/seed-3");
    expect(shellWord("runs/glow-ens/seed-3")).toBe("runs/glow-ens/seed-3");
    expect(shellWord("my runs/it's")).toBe(`'my runs/it'\\''s'`);
  });
});
