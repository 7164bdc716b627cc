// trainStep: the one training step the trainer runs and the benchmarks time.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { Glow } from "../../lib/models/glow/glow.js";
import { presetFor } from "../../lib/models/registry.js";
import { Adam } from "../../lib/optim/index.js";
import { gradNorm } from "../../lib/optim/clip.js";
import { trainStep, type StepPhases } from "../../lib/train/step.js";

const preset = presetFor("glow", "tiny", [1, 8, 8]);
/** A tiny Glow, an optimizer that only records, and a batch. */
function setup() {
  torch.manualSeed(3);
  const model = new Glow(preset.model as never);
  const x = torch.rand([4, 1, 8, 8]).keep();
  const updates: number[] = [];
  const optimizer = { zeroGrad: () => model.zeroGrad(), step: () => void updates.push(gradNorm(model.parameters())) };
  return {
    model,
    x,
    updates,
    optimizer,
    done: () => {
      model.dispose();
      x.dispose();
    },
  };
}

describe("trainStep", () => {
  it("returns the mean loss in bits/dim and the gradient norm before clipping, and updates with the clipped gradients", () => {
    const { model, x, updates, optimizer, done } = setup();
    try {
      const expected = torch.tidy(() => torch.noGrad(() => model.objective(x).logPx.mean().item())) / (-64 * Math.LN2);
      const r = trainStep(model, optimizer, x, { clipNorm: 1e-3, read: true });
      expect(r.loss).toBeCloseTo(expected, 4);
      expect(r.gradNorm).toBeGreaterThan(1e-3);
      expect(updates[0]).toBeCloseTo(1e-3, 6);
      // clipNorm 0: measured, not clipped
      const s = trainStep(model, optimizer, x, { clipNorm: 0, read: true });
      expect(updates[1]).toBeCloseTo(s.gradNorm, 4);
    } finally {
      done();
    }
  });

  it("reads nothing back unless asked, fills in its timings, and leaves no tensor behind", () => {
    const { model, x, optimizer, done } = setup();
    try {
      trainStep(model, optimizer, x, { clipNorm: 50 }); // the optimizer state (none here) and grads exist from now on
      const live = torch.memory().liveTensors;
      const phases: StepPhases = { forward: -1, backward: -1, update: -1 };
      const r = trainStep(model, optimizer, x, { clipNorm: 50, phases });
      expect([r.loss, r.gradNorm]).toEqual([NaN, NaN]);
      expect(Object.values(phases).every((t) => t >= 0)).toBe(true);
      expect(torch.memory().liveTensors).toBe(live);
    } finally {
      done();
    }
  });

  it("says which term went bad when the loss is not finite, before the update", () => {
    const { model, x, updates, optimizer, done } = setup();
    try {
      const bad = torch.full([4, 1, 8, 8], NaN).keep();
      let term = "";
      expect(() =>
        trainStep(model, optimizer, bad, {
          clipNorm: 50,
          read: true,
          onNonFinite: (t) => {
            term = t;
            throw new Error("stop");
          },
        }),
      ).toThrow("stop");
      expect(term).toMatch(/^non-finite/);
      expect(updates).toEqual([]);
      bad.dispose();
    } finally {
      done();
    }
  });
});
