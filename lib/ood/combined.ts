/**
 * The combined detector: one score from every per-example statistic the models and codecs already give,
 * fitted on in-distribution validation data only.
 *
 * After DoSE (Morningstar et al., "Density of States Estimation for Out-of-Distribution Detection",
 * AISTATS 2021): a density over summary statistics of the generative model, fitted on in-distribution
 * data; an input is OOD when its statistics are improbable under it, on either side (MNIST under a
 * FashionMNIST Glow is too likely, noise too unlikely, and both are caught). The density is DoSE's own
 * choice, a Gaussian kernel density estimate. It keeps what input complexity (Serra et al. 2020) relies on,
 * the tight in-distribution relation between log p(x) and the compressed length, and what flow-terms relies
 * on, the relation between log p(z) and the log-det, and unlike one Gaussian it follows the statistics'
 * curved, many-class shape (a FashionMNIST sandal and a coat sit in different places).
 *
 * The statistics are whitened by the validation data's Gaussian (mean, standard deviations, Cholesky factor
 * of the correlations: `fitGaussian`), so the kernel is the data's covariance scaled by Scott's factor
 * n^(-1/(k+4)) (Scott 1992; scipy.stats.gaussian_kde's default). Nothing is tuned: there is no bandwidth
 * search and no number of components. The score is -log of the density of an input's whitened statistics.
 * A validation example's own score leaves it out of the sum (leave-one-out), or the threshold fitted on
 * those scores would be too low. A statistic constant on the validation data (CV-Glow's log-det) is left
 * out: it carries no information. A non-finite statistic (a flow far from its data) scores Infinity.
 *
 * The Gaussian alone (`mahalanobis`) was the detector before. It was replaced on the development pairs'
 * word alone (lib/ood/sets.ts DEV_PROBES, experiments/detector-design.ts: worst pair 0.863 against 0.799);
 * on the suite's FashionMNIST -> MNIST the density then did worse (0.936 against 0.957), and it stays, since
 * choosing by that pair would be tuning on OOD data (README.md).
 */
import { z } from "zod";
import { parseWith, VALUE_SHOWN } from "../schema.js";
import * as torch from "../tensor/index.js";
import { moments } from "./metrics.js";

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

/** A statistic whose spread is nothing beside its size carries no information (CV-Glow's log-det). */
const isConstant = (m: number, sd: number) => !(sd > 1e-9 * Math.max(1, Math.abs(m)));

/** The fitted statistics' columns of `stats`, and their length. */
function columns(fit: GaussianFit, stats: Statistics): { cols: ArrayLike<number>[]; n: number } {
  for (const name of fit.names) if (!stats[name]) throw new RangeError(`combined: statistic '${name}' is missing from the inputs to score`);
  const cols = fit.names.map((name) => stats[name]!);
  return { cols, n: cols[0]!.length };
}

/**
 * Writes example i's whitened statistics L^-1 ((x - mean) / scale) into `w`; false when a statistic of it
 * is not finite.
 */
function whiten(fit: GaussianFit, cols: ArrayLike<number>[], i: number, w: Float64Array): boolean {
  const k = cols.length;
  for (let j = 0; j < k; j++) {
    const v = cols[j]![i]!;
    if (!Number.isFinite(v)) return false;
    w[j] = (v - fit.mean[j]!) / fit.scale[j]!;
  }
  // Solve L w = y in place.
  for (let a = 0; a < k; a++) {
    let s = w[a]!;
    for (let b = 0; b < a; b++) s -= fit.cholesky[a * k + b]! * w[b]!;
    w[a] = s / fit.cholesky[a * k + a]!;
  }
  return true;
}

/** The Mahalanobis distance of each example's statistics from the fitted Gaussian (larger: more OOD). */
export function mahalanobis(fit: GaussianFit, stats: Statistics): Float64Array {
  const { cols, n } = columns(fit, stats);
  const out = new Float64Array(n);
  const w = new Float64Array(cols.length);
  for (let i = 0; i < n; i++) {
    if (!whiten(fit, cols, i, w)) {
      out[i] = Infinity; // a non-finite statistic: as far from the data as it gets
      continue;
    }
    let d2 = 0;
    for (let a = 0; a < w.length; a++) d2 += w[a]! * w[a]!;
    out[i] = Math.sqrt(d2);
  }
  return out;
}

/** The kernel density over the whitened validation statistics. */
export interface KdeFit {
  /** The whitening: the validation data's Gaussian. */
  gaussian: GaussianFit;
  /** The validation examples with finite statistics, whitened: row-major, `gaussian.names.length` a row. */
  points: Float64Array;
  /** The kernel's standard deviation in whitened units: Scott's factor n^(-1/(k+4)). */
  bandwidth: number;
}

/**
 * Fits the kernel density on in-distribution (validation) statistics. `rows[p]` is the example of `stats`
 * that became point p (for scoring the fitting data itself leave-one-out).
 */
export function fitKde(stats: Statistics): { fit: KdeFit; dropped: string[]; rows: Int32Array } {
  const { fit: gaussian, dropped } = fitGaussian(stats);
  const { cols, n } = columns(gaussian, stats);
  const k = cols.length;
  const points = new Float64Array(n * k),
    rows: number[] = [];
  const w = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    if (!whiten(gaussian, cols, i, w)) continue;
    points.set(w, rows.length * k);
    rows.push(i);
  }
  const m = rows.length;
  return { fit: { gaussian, points: points.slice(0, m * k), bandwidth: m ** (-1 / (k + 4)) }, dropped, rows: Int32Array.from(rows) };
}

/**
 * -log of the kernel density at each example's statistics (larger: more OOD). With `leaveOut`, example i
 * leaves point `leaveOut[i]` out of its sum (-1: none): the fitting data's own scores.
 *
 * In LibTorch, a chunk of examples at a time, in float64: -|w - p|^2 / (2 h^2) is
 * (2 w.p - |p|^2) / (2 h^2) - |w|^2 / (2 h^2), so one matmul of [w, 1] with [2 p / (2 h^2), -|p|^2 / (2 h^2)]
 * gives every logit but a per-example constant, which leaves the log-sum-exp and is taken off after it. A
 * loop in JavaScript took 120 us an image against 5,000 points (bench/density_cost.mjs).
 */
export function kdeScore(fit: KdeFit, stats: Statistics, leaveOut?: ArrayLike<number>): Float64Array {
  const { cols, n } = columns(fit.gaussian, stats);
  const k = cols.length;
  const m = fit.points.length / k;
  const twoH2 = 2 * fit.bandwidth * fit.bandwidth;
  // The normal kernel's constant, -log (2 pi h^2)^(-k/2): the score is a true -log density.
  const norm = (k / 2) * Math.log(Math.PI * twoH2);
  const out = new Float64Array(n);
  // Each example's whitened statistics and a 1 (a non-finite example's row stays 0: its score is Infinity).
  const augmented = new Float64Array(n * (k + 1));
  const ownTerm = new Float64Array(n); // |w|^2 / (2 h^2)
  const w = new Float64Array(k);
  const finite = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!whiten(fit.gaussian, cols, i, w)) continue;
    finite[i] = 1;
    augmented.set(w, i * (k + 1));
    augmented[i * (k + 1) + k] = 1;
    let sq = 0;
    for (let a = 0; a < k; a++) sq += w[a]! * w[a]!;
    ownTerm[i] = sq / twoH2;
  }
  if (n === 0) return out;
  torch.tidy(() => {
    const weights = torch.tensor(kdeWeights(fit), { shape: [k + 1, m] });
    for (let start = 0; start < n; start += KDE_CHUNK) {
      const end = Math.min(n, start + KDE_CHUNK);
      const lse = torch.tidy(() => {
        let logits = torch.tensor(augmented.subarray(start * (k + 1), end * (k + 1)), { shape: [end - start, k + 1] }).matmul(weights);
        if (leaveOut) {
          const self = new Uint8Array((end - start) * m);
          for (let i = start; i < end; i++) if (leaveOut[i]! >= 0) self[(i - start) * m + leaveOut[i]!] = 1;
          logits = logits.maskedFill(torch.tensor(self, { shape: [end - start, m], dtype: "bool" }), -Infinity);
        }
        return logits.logsumexp(1).data() as Float64Array;
      });
      for (let i = start; i < end; i++) {
        const count = leaveOut && leaveOut[i]! >= 0 ? m - 1 : m;
        out[i] = finite[i] ? norm - (lse[i - start]! - ownTerm[i]!) + Math.log(count) : Infinity;
      }
    }
  });
  return out;
}

// The matmul's right-hand side, [2 p / (2 h^2); -|p|^2 / (2 h^2)] as k + 1 rows of m, made once per fit (a
// service scores every batch with one fit).
const weightsOf = new WeakMap<KdeFit, Float64Array>();
function kdeWeights(fit: KdeFit): Float64Array {
  let out = weightsOf.get(fit);
  if (out) return out;
  const k = fit.gaussian.names.length,
    m = fit.points.length / k,
    twoH2 = 2 * fit.bandwidth * fit.bandwidth;
  out = new Float64Array((k + 1) * m);
  for (let p = 0; p < m; p++) {
    let sq = 0;
    for (let a = 0; a < k; a++) {
      const v = fit.points[p * k + a]!;
      out[a * m + p] = (2 * v) / twoH2;
      sq += v * v;
    }
    out[k * m + p] = -sq / twoH2;
  }
  weightsOf.set(fit, out);
  return out;
}

/** Examples scored per LibTorch call: a chunk's logits against 5,000 points are 2.5 MB. */
const KDE_CHUNK = 64;

const finiteNumbers = z.array(z.number().refine(Number.isFinite, "must be finite numbers"));
/** The kernel density as `ood` stores it in RUN/ood/*.json and a service reads it back: plain arrays. */
const storedKde = z
  .object({
    names: z.array(z.string()).min(1),
    dropped: z.array(z.string()),
    mean: finiteNumbers,
    scale: z.array(z.number().positive()),
    cholesky: finiteNumbers,
    points: finiteNumbers,
    bandwidth: z.number().positive(),
  })
  .superRefine((f, ctx) => {
    const k = f.names.length;
    const bad = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message, params: VALUE_SHOWN });
    if (f.mean.length !== k) bad("mean", `has ${f.mean.length} values for ${k} statistics`);
    if (f.scale.length !== k) bad("scale", `has ${f.scale.length} values for ${k} statistics`);
    if (f.cholesky.length !== k * k) bad("cholesky", `has ${f.cholesky.length} values, not ${k} x ${k}`);
    else for (let a = 0; a < k; a++) if (!(f.cholesky[a * k + a]! > 0)) bad("cholesky", `has diagonal ${a} = ${f.cholesky[a * k + a]}, not positive`);
    if (f.points.length === 0 || f.points.length % k !== 0) bad("points", `has ${f.points.length} values, not a positive multiple of ${k} statistics`);
  });
export type StoredKde = z.output<typeof storedKde>;

/** The fit as it is stored. */
export const storeKde = (fit: KdeFit, dropped: string[]): StoredKde => ({
  names: fit.gaussian.names,
  dropped,
  mean: Array.from(fit.gaussian.mean),
  scale: Array.from(fit.gaussian.scale),
  cholesky: Array.from(fit.gaussian.cholesky),
  points: Array.from(fit.points),
  bandwidth: fit.bandwidth,
});

/** A stored fit read back and checked (`what` names where it came from), or a SchemaError saying what is wrong. */
export function readKde(stored: unknown, what: string): KdeFit {
  const f = parseWith(storedKde, stored, what, "run `torchts-ood ood` again to write it afresh");
  return {
    gaussian: { names: f.names, mean: Float64Array.from(f.mean), scale: Float64Array.from(f.scale), cholesky: Float64Array.from(f.cholesky) },
    points: Float64Array.from(f.points),
    bandwidth: f.bandwidth,
  };
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
