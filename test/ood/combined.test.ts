// The combined detector (lib/ood/combined.ts): the Gaussian's Mahalanobis distance and the kernel density
// are the textbook ones, a statistic constant on the validation data is left out, a stored fit is checked
// when read back, and bad statistics are clear errors.
import { describe, expect, it } from "vitest";
import { fitGaussian, fitKde, fitTests, kdeScore, mahalanobis, readKde, storeKde, testsScore, wilsonHilferty } from "../../lib/ood/combined.js";
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

describe("the combined detector's kernel density", () => {
  it("estimates the density: N(0, 1) draws give N(0, 1 + h^2) in whitened units, with Scott's bandwidth", () => {
    const { a } = correlated(20000, 3);
    const { fit, rows } = fitKde({ a });
    expect(fit.bandwidth).toBeCloseTo(20000 ** (-1 / 5), 12);
    expect(rows.length).toBe(20000);
    // A Gaussian kernel over normal draws is N(0, 1 + h^2) in expectation: -log density at x is
    // 0.5 log(2 pi v) + x^2 / (2 v). 20,000 draws: within 0.02 nats at 0 and 1, 0.1 at 3 (the sparse tail).
    const v = 1 + fit.bandwidth ** 2;
    const s = kdeScore(fit, { a: [0, 1, 3] });
    [0, 1, 3].forEach((x, i) => expect(Math.abs(s[i]! - (0.5 * Math.log(2 * Math.PI * v) + (x * x) / (2 * v)))).toBeLessThan(x === 3 ? 0.1 : 0.02));
  });

  it("follows two clusters where one Gaussian cannot: the empty middle is OOD to it, not to the Gaussian", () => {
    const rng = Rng.seeded(5);
    const n = 4000;
    const a = Float64Array.from({ length: n }, (_, i) => (i % 2 ? 3 : -3) + 0.3 * rng.normal());
    const b = Float64Array.from({ length: n }, () => rng.normal());
    const probe = { a: [0, 3], b: [0, 0] }; // the middle, and a cluster's centre
    const kde = kdeScore(fitKde({ a, b }).fit, probe);
    const gauss = mahalanobis(fitGaussian({ a, b }).fit, probe);
    // Whitened, the clusters sit at +-1 with spread 0.1 and the kernel is h = 4000^(-1/6) = 0.25 wide: the
    // middle is 1 / (2 (0.1^2 + h^2)) = 6.9 nats less likely than a centre.
    expect(kde[0]!).toBeGreaterThan(kde[1]! + 5);
    expect(gauss[0]!).toBeLessThan(gauss[1]!);
  });

  it("scores its own fitting data leave-one-out, and a non-finite statistic as Infinity", () => {
    const { a, b } = correlated(300, 7);
    a[5] = NaN; // row 5 is not a point: rows skip it
    const { fit, rows } = fitKde({ a, b });
    expect(rows.length).toBe(299);
    expect(rows[5]).toBe(6);
    const leaveOut = new Int32Array(300).fill(-1);
    rows.forEach((example, point) => (leaveOut[example] = point));
    const loo = kdeScore(fit, { a, b }, leaveOut);
    const all = kdeScore(fit, { a, b });
    expect(loo[5]).toBe(Infinity);
    // By hand for example 0 (point 0): the mean kernel over the 298 other points.
    const k = 2,
      h2 = fit.bandwidth ** 2,
      p = fit.points;
    let sum = 0;
    for (let j = 1; j < 299; j++) sum += Math.exp(-((p[0]! - p[2 * j]!) ** 2 + (p[1]! - p[2 * j + 1]!) ** 2) / (2 * h2)) / (2 * Math.PI * h2) ** (k / 2);
    expect(loo[0]!).toBeCloseTo(-Math.log(sum / 298), 9);
    for (const i of [0, 1, 100, 299]) expect(loo[i]!).toBeGreaterThan(all[i]!); // its own kernel no longer helps it
  });

  it("is stored as plain numbers, read back to the same scores, and a corrupt stored fit is a clear error", () => {
    const { a, b } = correlated(500, 9);
    const { fit, dropped } = fitKde({ a, b, c: new Float64Array(500).fill(1) });
    expect(dropped).toEqual(["c"]);
    const stored = JSON.parse(JSON.stringify(storeKde(fit, dropped)));
    const probe = { a: [0, 2, -1], b: [0, -2, 1], c: [1, 1, 1] };
    expect(Array.from(kdeScore(readKde(stored, "f"), probe))).toEqual(Array.from(kdeScore(fit, probe)));
    expect(() => readKde({ ...stored, points: stored.points.slice(1) }, "f.json")).toThrow(
      /f\.json: "points" has 999 values, not a positive multiple of 2 statistics/,
    );
    expect(() => readKde({ ...stored, mean: [0] }, "f.json")).toThrow(/"mean" has 1 values for 2 statistics/);
    expect(() => readKde({ ...stored, cholesky: [0, 0, 0, 1] }, "f.json")).toThrow(/"cholesky" has diagonal 0 = 0, not positive/);
    expect(() => readKde({ ...stored, bandwidth: "wide" }, "f.json")).toThrow(/"bandwidth" expected number, received string.*run `torchts-ood ood` again/);
    expect(() => readKde({ ...stored, points: [null, ...stored.points.slice(1)] }, "f.json")).toThrow(/"points\[0\]" expected number/);
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
