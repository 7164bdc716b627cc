/**
 * The combined detector: one score from every per-example statistic the models and codecs already give,
 * fitted on in-distribution validation data only.
 *
 * After DoSE (Morningstar et al., "Density of States Estimation for Out-of-Distribution Detection",
 * AISTATS 2021): a density over summary statistics of the generative model, fitted on in-distribution
 * data; an input is OOD when its statistics are improbable under it, on either side (MNIST under a
 * FashionMNIST Glow is too likely, noise too unlikely, and both are caught). Like Bergamin et al.
 * ("Model-agnostic out-of-distribution detection using combined statistical tests", AISTATS 2022) it
 * tests several statistics at once; unlike Fisher's method over per-statistic p-values, which assumes the
 * statistics independent, the density here is a Gaussian with a full covariance. That keeps what input
 * complexity (Serra et al. 2020) relies on, the tight in-distribution relation between log p(x) and the
 * compressed length, and what flow-terms relies on, the relation between log p(z) and the log-det.
 *
 * The score is the Mahalanobis distance of an input's statistics from the validation data's mean. The
 * Gaussian has no hyperparameter to tune (no bandwidth, no number of components) and is invariant to the
 * statistics' units; its covariance gets a ridge of 1e-6 of each variance only to stay invertible where
 * two statistics are collinear. A statistic constant on the validation data (CV-Glow's log-det) is left
 * out: it carries no information. A non-finite statistic (a flow far from its data) scores Infinity.
 */

export interface GaussianFit {
  names: string[];
  mean: Float64Array;
  /** Each statistic's standard deviation on the fitting data (the statistics are standardised first). */
  scale: Float64Array;
  /** The lower Cholesky factor of the standardised statistics' covariance (row-major k x k). */
  cholesky: Float64Array;
}

/** Per-example statistics by name: each a column of the same length. */
export type Statistics = Record<string, ArrayLike<number>>;

const RIDGE = 1e-6;

/** Fits the Gaussian on in-distribution (validation) statistics; names the statistics it leaves out. */
export function fitGaussian(stats: Statistics): { fit: GaussianFit; dropped: string[] } {
  const all = Object.keys(stats);
  if (all.length === 0) throw new RangeError("combined: no statistics to fit");
  const n = stats[all[0]!]!.length;
  for (const k of all) if (stats[k]!.length !== n) throw new RangeError(`combined: statistic '${k}' has ${stats[k]!.length} values, '${all[0]}' ${n}`);
  // Rows with a non-finite statistic cannot be fitted: leave them out (they are counted in the message below).
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (all.every((k) => Number.isFinite(stats[k]![i]!))) rows.push(i);
  if (rows.length < 2 * all.length + 2)
    throw new RangeError(
      `combined: ${rows.length} validation examples with finite statistics (of ${n}): too few to fit ${all.length} statistics; give a larger validation set`,
    );
  const mean: number[] = [],
    scale: number[] = [],
    names: string[] = [],
    dropped: string[] = [];
  for (const k of all) {
    const { m, sd } = moments(stats[k]!, rows);
    if (isConstant(m, sd)) {
      dropped.push(k);
      continue;
    }
    names.push(k);
    mean.push(m);
    scale.push(sd);
  }
  if (names.length === 0) throw new RangeError(`combined: every statistic is constant on the validation data (${all.join(", ")})`);
  const kk = names.length;
  const cov = new Float64Array(kk * kk);
  for (const i of rows) {
    const z = names.map((k, j) => (stats[k]![i]! - mean[j]!) / scale[j]!);
    for (let a = 0; a < kk; a++) for (let b = 0; b <= a; b++) cov[a * kk + b]! += z[a]! * z[b]!;
  }
  for (let a = 0; a < kk; a++)
    for (let b = 0; b <= a; b++) {
      cov[a * kk + b] = cov[a * kk + b]! / (rows.length - 1) + (a === b ? RIDGE : 0);
      cov[b * kk + a] = cov[a * kk + b]!;
    }
  return { fit: { names, mean: Float64Array.from(mean), scale: Float64Array.from(scale), cholesky: cholesky(cov, kk) }, dropped };
}

/** Mean and standard deviation of a statistic over the given rows. */
function moments(col: ArrayLike<number>, rows: readonly number[]): { m: number; sd: number } {
  let m = 0;
  for (const i of rows) m += col[i]!;
  m /= rows.length;
  let v = 0;
  for (const i of rows) v += (col[i]! - m) ** 2;
  return { m, sd: Math.sqrt(v / (rows.length - 1)) };
}

/** A statistic whose spread is nothing beside its size carries no information (CV-Glow's log-det). */
const isConstant = (m: number, sd: number) => !(sd > 1e-9 * Math.max(1, Math.abs(m)));

/** The Mahalanobis distance of each example's statistics from the fitted Gaussian (larger: more OOD). */
export function mahalanobis(fit: GaussianFit, stats: Statistics): Float64Array {
  const k = fit.names.length;
  for (const name of fit.names) if (!stats[name]) throw new RangeError(`combined: statistic '${name}' is missing from the inputs to score`);
  const n = stats[fit.names[0]!]!.length;
  const out = new Float64Array(n);
  const y = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let finite = true;
    for (let j = 0; j < k; j++) {
      const v = stats[fit.names[j]!]![i]!;
      if (!Number.isFinite(v)) finite = false;
      y[j] = (v - fit.mean[j]!) / fit.scale[j]!;
    }
    if (!finite) {
      out[i] = Infinity; // beyond float range: as far from the data as it gets
      continue;
    }
    // Solve L w = y; the distance is |w|.
    let d2 = 0;
    for (let a = 0; a < k; a++) {
      let s = y[a]!;
      for (let b = 0; b < a; b++) s -= fit.cholesky[a * k + b]! * y[b]!;
      y[a] = s / fit.cholesky[a * k + a]!;
      d2 += y[a]! * y[a]!;
    }
    out[i] = Math.sqrt(d2);
  }
  return out;
}

function cholesky(a: Float64Array, k: number): Float64Array {
  const l = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i * k + j]!;
      for (let p = 0; p < j; p++) s -= l[i * k + p]! * l[j * k + p]!;
      if (i === j) {
        if (!(s > 0)) throw new RangeError("combined: the statistics' covariance is not positive definite");
        l[i * k + i] = Math.sqrt(s);
      } else l[i * k + j] = s / l[j * k + j]!;
    }
  return l;
}

/**
 * The test-family detector: several tests at once, each the Mahalanobis distance of one group of the
 * statistics from that group's validation Gaussian, combined by Tippett's rule (the smallest p-value;
 * Tippett 1931, and Bergamin et al. 2022 for combining OOD tests). Each distance d^2 of a group of k
 * statistics is a chi-square with k degrees of freedom in distribution; the Wilson-Hilferty transform
 * ((d^2/k)^(1/3) - (1 - 2/(9k))) / sqrt(2/(9k)) turns it into a standard normal deviate (no underflow far out,
 * where the p-values themselves would all round to 0), and the score is the largest deviate: the smallest
 * p-value. One omnibus Gaussian over every statistic dilutes an input that breaks one relation among many
 * (its distance grows with the statistics that did not move); a family of tests keeps each test's power at
 * the cost of a multiplicity that grows only like log(tests). Nothing is tuned: the groups are the
 * literature's tests (fixed by `testGroups`), and each Gaussian is fitted on validation data.
 */
export interface TestFamilyFit {
  tests: { name: string; fit: GaussianFit }[];
}

export function fitTests(stats: Statistics, groups: Record<string, string[]>): { fit: TestFamilyFit; dropped: string[] } {
  // A statistic constant on the validation data (CV-Glow's log-det) leaves every test it is in; a test
  // left with nothing, or with the same statistics as one before it, is not made.
  const dropped = Object.keys(stats).filter((k) => {
    const col = stats[k]!;
    const finite: number[] = [];
    for (let i = 0; i < col.length; i++) if (Number.isFinite(col[i]!)) finite.push(i);
    const { m, sd } = moments(col, finite);
    return isConstant(m, sd);
  });
  const tests: TestFamilyFit["tests"] = [];
  const seen = new Set<string>();
  for (const [name, members] of Object.entries(groups)) {
    for (const m of members) if (!stats[m]) throw new RangeError(`combined: statistic '${m}' of test '${name}' is missing`);
    const kept = members.filter((m) => !dropped.includes(m));
    const key = [...kept].sort().join("\n");
    if (kept.length === 0 || seen.has(key)) continue;
    seen.add(key);
    tests.push({ name, fit: fitGaussian(Object.fromEntries(kept.map((m) => [m, stats[m]!]))).fit });
  }
  return { fit: { tests }, dropped };
}

/** A chi-square deviate with k degrees of freedom as a standard normal deviate (Wilson and Hilferty 1931). */
export function wilsonHilferty(d2: number, k: number): number {
  if (d2 === Infinity) return Infinity;
  const c = 2 / (9 * k);
  return (Math.cbrt(d2 / k) - (1 - c)) / Math.sqrt(c);
}

/** Each example's largest normal deviate over the family's tests (larger: more OOD). */
export function testsScore(fit: TestFamilyFit, stats: Statistics): Float64Array {
  let out: Float64Array | undefined;
  for (const t of fit.tests) {
    const d = mahalanobis(t.fit, stats);
    const k = t.fit.names.length;
    if (!out) out = new Float64Array(d.length).fill(-Infinity);
    for (let i = 0; i < d.length; i++) out[i] = Math.max(out[i]!, wilsonHilferty(d[i]! * d[i]!, k));
  }
  if (!out) throw new RangeError("combined: the test family is empty");
  return out;
}
