// Detection metrics: small cases worked by hand, and scikit-learn's values stored as a fixture
// (scripts/make-ood-metrics-fixture.py says how it was made).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { aurocStandardError, detectionMetrics, inDistributionThreshold, rocCurve } from "../../lib/ood/metrics.js";
import { Rng } from "../../lib/data/index.js";
import { scoreSets } from "../../lib/ood/ood-scores.js";

interface Case {
  in: number[];
  ood: number[];
  auroc: number;
  auprIn: number;
  auprOut: number;
  fpr95: number;
}
const reference = JSON.parse(readFileSync(new URL("./fixtures/metrics-reference.json", import.meta.url), "utf8")) as { cases: Record<string, Case> };

describe("detection metrics (OOD = positive, larger score = more OOD)", () => {
  it("match hand computations, ties counted as one threshold", () => {
    expect(detectionMetrics([0, 1], [2, 3])).toEqual({ auroc: 1, auprIn: 1, auprOut: 1, fpr95: 0 });
    // One tie: AUROC one half; the only threshold flags both, precision 1/2.
    expect(detectionMetrics([1], [1])).toEqual({ auroc: 0.5, auprIn: 0.5, auprOut: 0.5, fpr95: 1 });
    // Descending: 3 (ood), 2 (in), 1 (ood), 0 (in). U = 3 of 4 pairs; AP-out = 1/2 * 1 + 1/2 * 2/3;
    // AP-in (negated: 0 in, 1 ood, 2 in, 3 ood) = 1/2 * 1 + 1/2 * 2/3; 95% of OOD needs threshold 1: FPR 1/2.
    const m = detectionMetrics([0, 2], [1, 3]);
    expect(m.auroc).toBe(0.75);
    expect(m.auprOut).toBeCloseTo(0.5 + 1 / 3, 15);
    expect(m.auprIn).toBeCloseTo(0.5 + 1 / 3, 15);
    expect(m.fpr95).toBe(0.5);
    // The input order of tied scores does not matter.
    expect(detectionMetrics([2, 1, 1], [1, 3])).toEqual(detectionMetrics([1, 1, 2], [3, 1]));
  });

  it.each(Object.keys(reference.cases))("match scikit-learn on '%s'", (name) => {
    const c = reference.cases[name]!;
    const m = detectionMetrics(c.in, c.ood);
    expect(m.auroc).toBeCloseTo(c.auroc, 12);
    expect(m.auprOut).toBeCloseTo(c.auprOut, 12);
    expect(m.auprIn).toBeCloseTo(c.auprIn, 12);
    expect(m.fpr95).toBeCloseTo(c.fpr95, 12);
  });

  it("refuse empty and NaN scores, naming which; infinite scores rank as the most (or least) OOD", () => {
    expect(() => detectionMetrics([], [1])).toThrow(/in-distribution scores: no scores/);
    expect(() => detectionMetrics([1, Number.NaN], [1])).toThrow(/in-distribution scores: score 1 is NaN/);
    expect(() => detectionMetrics([1], [2, Number.NaN])).toThrow(/OOD scores: score 1 is NaN/);
    expect(detectionMetrics([1, -Infinity], [Infinity, Infinity])).toEqual({ auroc: 1, auprIn: 1, auprOut: 1, fpr95: 0 });
    expect(detectionMetrics([Infinity], [Infinity]).auroc).toBe(0.5);
  });

  it("give the ROC curve from (0, 0) to (1, 1) and the in-distribution threshold at 95%", () => {
    const r = rocCurve([0, 2], [1, 3]);
    expect(r.fpr).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(r.tpr).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(r.threshold).toEqual([Infinity, 3, 2, 1, 0]);
    const held = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(inDistributionThreshold(held)).toBe(95); // 95 of 100 at or below it
    expect(inDistributionThreshold([5])).toBe(5);
    expect(() => inDistributionThreshold(held, 0)).toThrow(/tpr must be in \(0, 1\]/);
  });

  it("give the AUROC's standard error as DeLong's placements do, worked out pair by pair", () => {
    // Scores rounded to tenths, so there are ties within and across the classes.
    const rng = Rng.seeded(11);
    const ins = Array.from({ length: 300 }, () => Math.round(10 * rng.normal()) / 10);
    const ood = Array.from({ length: 200 }, () => Math.round(10 * (rng.normal() + 1)) / 10);
    const beats = (a: number, b: number) => (a > b ? 1 : a === b ? 0.5 : 0);
    const v10 = ood.map((y) => ins.reduce((s, x) => s + beats(y, x), 0) / ins.length);
    const v01 = ins.map((x) => ood.reduce((s, y) => s + beats(y, x), 0) / ood.length);
    const variance = (v: number[]) => {
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
    };
    const se = aurocStandardError(ins, ood);
    expect(se).toBeCloseTo(Math.sqrt(variance(v10) / ood.length + variance(v01) / ins.length), 12);
    // The placements average to the AUROC itself.
    expect(v10.reduce((a, b) => a + b, 0) / ood.length).toBeCloseTo(detectionMetrics(ins, ood).auroc, 12);
    // The AUROC is 0.749 here, and Hanley and McNeil's approximation for it with these counts 0.023: the same size.
    expect(se).toBeGreaterThan(0.015);
    expect(se).toBeLessThan(0.03);
    expect(aurocStandardError([1], [2, 3])).toBeNaN();
    expect(() => aurocStandardError([], [1])).toThrow(/in-distribution scores: no scores/);
  });
});

describe("scoreSets", () => {
  const images = (n: number) => ({ name: "x", split: "test", images: new Uint8Array(n * 4), n, channels: 1, height: 2, width: 2 });
  const evals = (logPx: number[]) => ({ logPx: Float64Array.from(logPx) });
  const inputs = (oodLogPx: number[]) => ({
    data: { heldOut: images(3), in: images(3), ood: images(3) },
    dims: 4,
    model: { heldOut: evals([-10, -11, -12]), in: evals([-10, -12, -11]), ood: evals(oodLogPx) },
  });

  it("names the score whose values are NaN (a NaN likelihood), and skips those that do not apply with the reason", () => {
    expect(() => scoreSets(inputs([-5, Number.NaN, -6]), ["log-likelihood"], () => 0)).toThrow(/^log-likelihood: OOD scores: score 1 is NaN/);
    const r = scoreSets(inputs([-50, -60, -70]), ["log-likelihood", "waic", "likelihood-ratio"], () => 0.001);
    expect(r.scores["log-likelihood"]!.auroc).toBe(1);
    expect(r.skipped.waic).toMatch(/needs an ensemble/);
    expect(r.skipped["likelihood-ratio"]).toMatch(/needs a background model/);
    expect(r.perExample["log-likelihood"]!.ood).toEqual([50, 60, 70]);
  });
});
