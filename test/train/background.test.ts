// Background runs for the likelihood ratio: their settings, and the check that a command was given the
// kind of run (background or model of the data) it expects.
import { describe, expect, it } from "vitest";
import { BACKGROUND_DEFAULTS, backgroundConfig, expectRunRole } from "../../lib/train/background.js";
import type { RunConfig } from "../../lib/train/run.js";

const config = (background?: RunConfig["background"]) => ({ kind: "glow", dataset: "fashion-mnist:train", ...(background ? { background } : {}) }) as RunConfig;

describe("background runs", () => {
  it("take the paper's middle mutation rate by default, and refuse rates outside (0, 1) and negative penalties", () => {
    expect(backgroundConfig()).toEqual(BACKGROUND_DEFAULTS);
    expect(backgroundConfig({ mutationRate: 0.3 })).toEqual({ mutationRate: 0.3, l2: BACKGROUND_DEFAULTS.l2 });
    expect(backgroundConfig({ l2: 0 })).toEqual({ mutationRate: 0.2, l2: 0 });
    for (const r of [0, 1, -0.1, NaN]) expect(() => backgroundConfig({ mutationRate: r })).toThrow(/^--mutation-rate must be in \(0, 1\), got /);
    for (const l of [-1e-4, Infinity]) expect(() => backgroundConfig({ l2: l })).toThrow(/^--l2 must be a number >= 0, got /);
  });

  it("are told apart from models of the data, with what to pass instead", () => {
    const bg = config({ mutationRate: 0.2, l2: 1e-4 });
    expect(() => expectRunRole("runs/bg", bg, "background")).not.toThrow();
    expect(() => expectRunRole("runs/fg", config(), "model")).not.toThrow();
    expect(() => expectRunRole("runs/fg", config(), "background")).toThrow(
      'runs/fg is not a background run (its config.json has no "background"): train one with `torchts-ood train glow --dataset fashion-mnist --background` and pass that folder',
    );
    expect(() => expectRunRole("runs/bg", bg, "model")).toThrow(/^runs\/bg is a background run \(trained on mutated inputs, mutation rate 0.2\)/);
  });
});
