// The combined detector's Gaussian (lib/ood/combined.ts): the Mahalanobis distance it gives is the textbook
// one, a statistic constant on the validation data is left out, and bad statistics are clear errors.
import { describe, expect, it } from "vitest";
import { fitGaussian, fitTests, mahalanobis, testsScore, wilsonHilferty } from "../../lib/ood/combined.js";
import { Rng } from "../../lib/data/index.js";

/** n draws of a correlated 2-D Gaussian: a = N(0, 1), b = 0.8 a + 0.6 N(0, 1) (unit variances, correlation 0.8). */
function correlated(n: number, seed = 1) {
  const rng = Rng.seeded(seed);
  const normal = () => rng.normal();
  const a = new Float64Array(n),
    b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = normal();
    b[i] = 0.8 * a[i]! + 0.6 * normal();
  }
  return { a, b };
}

describe("the combined detector's Gaussian", () => {
  it("gives the Mahalanobis distance: along the correlation is near, across it is far", () => {
    const { fit, dropped } = fitGaussian(correlated(20000));
    expect(dropped).toEqual([]);
    // With correlation 0.8: d^2 = (a^2 - 1.6 ab + b^2) / 0.36, so (1, 1) is at sqrt(0.4 / 0.36) = 1.054 and
    // (1, -1) at sqrt(10) = 3.162; the fit is from 20,000 draws, so 3% is ample.
    const d = mahalanobis(fit, { a: [1, 1, 0], b: [1, -1, 0] });
    expect(Math.abs(d[0]! / Math.sqrt(0.4 / 0.36) - 1)).toBeLessThan(0.03);
    expect(Math.abs(d[1]! / Math.sqrt(10) - 1)).toBeLessThan(0.03);
    expect(d[2]!).toBeLessThan(0.05);
  });

  it("leaves out a statistic constant on the validation data, and scores a non-finite statistic as Infinity", () => {
    const { a, b } = correlated(500);
    const { fit, dropped } = fitGaussian({ a, b, logDet: new Float64Array(500).fill(3.25) });
    expect(dropped).toEqual(["logDet"]);
    expect(fit.names).toEqual(["a", "b"]);
    const d = mahalanobis(fit, { a: [0, -Infinity, NaN], b: [0, 0, 0], logDet: [1, 1, 1] });
    expect(Number.isFinite(d[0]!)).toBe(true);
    expect(d[1]).toBe(Infinity);
    expect(d[2]).toBe(Infinity);
  });

  it("refuses too few finite validation examples, mismatched lengths, and a missing statistic", () => {
    expect(() => fitGaussian({ a: [1, NaN, 3, NaN], b: [1, 2, NaN, 4] })).toThrow(/1 validation examples with finite statistics \(of 4\): too few/);
    expect(() => fitGaussian({ a: [1, 2, 3], b: [1, 2] })).toThrow(/statistic 'b' has 2 values, 'a' 3/);
    expect(() => fitGaussian({ c: new Float64Array(10) })).toThrow(/every statistic is constant/);
    const { fit } = fitGaussian(correlated(100));
    expect(() => mahalanobis(fit, { a: [1] })).toThrow(/statistic 'b' is missing/);
  });
});

describe("the test-family detector (Tippett over Gaussian tests)", () => {
  it("turns a chi-square deviate into a standard normal one (Wilson-Hilferty)", () => {
    // chi-square quantiles: 95% at 3.841 (k = 1), 5.991 (k = 2), 11.070 (k = 5); 99.9% at 10.828 (k = 1).
    expect(wilsonHilferty(3.841, 1)).toBeCloseTo(1.645, 1);
    expect(wilsonHilferty(5.991, 2)).toBeCloseTo(1.645, 1);
    expect(wilsonHilferty(11.07, 5)).toBeCloseTo(1.645, 2);
    expect(wilsonHilferty(10.828, 1)).toBeCloseTo(3.09, 1);
    expect(wilsonHilferty(Infinity, 3)).toBe(Infinity);
    expect(wilsonHilferty(20, 2)).toBeGreaterThan(wilsonHilferty(10, 2));
  });
  it("scores each example by its most surprising test, leaves out constant statistics and repeated tests", () => {
    const { a, b } = correlated(20000);
    const stats = { a, b, c: new Float64Array(a.length).fill(2) };
    const { fit, dropped } = fitTests(stats, { a: ["a"], "a again": ["a", "c"], pair: ["a", "b"], c: ["c"] });
    expect(dropped).toEqual(["c"]);
    expect(fit.tests.map((t) => t.name)).toEqual(["a", "pair"]);
    // (1, -1) breaks the correlation: the pair's test finds it, a alone does not.
    const probe = { a: [1, 1], b: [1, -1], c: [2, 2] };
    const s = testsScore(fit, probe);
    const pair = mahalanobis(fit.tests[1]!.fit, probe);
    expect(s[1]).toBeCloseTo(wilsonHilferty(pair[1]! ** 2, 2), 10);
    expect(s[1]!).toBeGreaterThan(s[0]!);
    expect(() => fitTests(stats, { missing: ["d"] })).toThrow(/statistic 'd' of test 'missing' is missing/);
  });
});
