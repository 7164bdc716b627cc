/**
 * The OOD scores, each a function of per-example quantities the models give. Every score is oriented so
 * that larger means more out-of-distribution. Each is computed on three sets: held-out in-distribution
 * data (for the entropy, the fitted statistics and the service threshold), the in-distribution test set and
 * the OOD set.
 */
import type { Compressor } from "./complexity.js";
import { entropyEstimate } from "./typicality.js";
import { fitKde, fitTests, kdeScore, testsScore, type Statistics, type TestFamilyFit } from "./combined.js";
import type { ImageDataset } from "../data/index.js";

export const SCORE_NAMES = [
  "log-likelihood",
  "typicality",
  "likelihood-ratio",
  "input-complexity",
  "input-complexity-brotli",
  "input-complexity-webp",
  "waic",
  "likelihood-regret",
  "flow-terms",
  "combined",
  "combined-tests",
] as const;
export type ScoreName = (typeof SCORE_NAMES)[number];

export type SetName = "heldOut" | "in" | "ood";
export const SET_NAMES: readonly SetName[] = ["heldOut", "in", "ood"];
export type PerSet<T> = Record<SetName, T>;

/** What one model gives per example on one set. */
export interface ModelEval {
  logPx: Float64Array;
  logPz?: Float64Array;
  logDet?: Float64Array;
  /** Multi-scale flows: log p(z) of each code (the factored-out ones, then the top). */
  logPzLevels?: Float64Array[];
}

/** Everything the scores read. Optional parts are there when the command was given what they need. */
export interface ScoreInputs {
  data: PerSet<ImageDataset>;
  /** Dimensions D of an image. */
  dims: number;
  /** The main model. */
  model: PerSet<ModelEval>;
  /** The background model of the likelihood ratio. */
  background?: PerSet<ModelEval>;
  /** The ensemble's members (the main model first). */
  ensemble?: PerSet<ModelEval>[];
  /** Likelihood Regret per example, computed by the caller (it needs the VAE itself). */
  regret?: PerSet<Float64Array>;
  /** The main model on training data: typicality's entropy (its paper takes it from training data). */
  train?: ModelEval;
  /** typicality's entropy H when it is known already (a service's stored value from `ood`). */
  entropy?: number;
  /** Compressed lengths in bits/dim per example (complexity.ts), computed by the caller for the scores that read them. */
  complexity?: PerSet<Partial<Record<Compressor, Float64Array>>>;
}

export interface ScoreDefinition {
  name: ScoreName;
  /** The paper that defines it. */
  cite: string;
  /** Why it cannot be computed from these inputs, or undefined when it can. */
  missing(inputs: ScoreInputs): string | undefined;
  /** The score of every example of one set. */
  compute(inputs: ScoreInputs, set: SetName): Float64Array;
}

const map = (a: Float64Array, f: (v: number, i: number) => number) => Float64Array.from(a, f);

function inputComplexity(name: ScoreName, compressor: Compressor): ScoreDefinition {
  return {
    name,
    cite: "Serra et al., Input Complexity and Out-of-Distribution Detection with Likelihood-based Generative Models, ICLR 2020",
    missing: () => undefined,
    compute(inp, set) {
      // S(x)/D = -log2 p(x)/D - L(x)/D: bits/dim minus compressed bits/dim.
      const bits = compressedLengths(inp, set, compressor);
      return map(inp.model[set].logPx, (lp, i) => -lp / (inp.dims * Math.LN2) - bits[i]!);
    },
  };
}

function compressedLengths(inp: ScoreInputs, set: SetName, compressor: Compressor): Float64Array {
  const bits = inp.complexity?.[set]?.[compressor];
  if (!bits) throw new Error(`the ${compressor} lengths of the ${set} set were not computed (complexityBitsPerDim before scoring)`);
  return bits;
}

/**
 * The statistics the combined detector reads, per example: for a flow, log p(z) of each of its codes and
 * the log-det (log p(x) is their sum, so it adds nothing); for other models, log p(x); then the length of
 * the image under each codec. All per dimension. One model's: what a service computes per image.
 */
export function combinedStatistics(inp: ScoreInputs, set: SetName): Statistics {
  const e = inp.model[set],
    d = inp.dims;
  const per = (a: ArrayLike<number>) => Float64Array.from(a, (v) => v / d);
  const out: Statistics = {};
  if (e.logDet && (e.logPzLevels || e.logPz)) {
    (e.logPzLevels ?? [e.logPz!]).forEach((l, k, all) => (out[all.length > 1 ? `log p(z) code ${k + 1}` : "log p(z)"] = per(l)));
    out["log-det"] = per(e.logDet);
  } else out["log p(x)"] = per(e.logPx);
  for (const c of COMBINED_CODECS) {
    const bits = inp.complexity?.[set]?.[c];
    if (bits) out[`${c} bits/dim`] = bits;
  }
  return out;
}

const fits = new WeakMap<ModelEval, ReturnType<typeof fitKde>>();
/** The combined detector's kernel density, fitted on the held-out (validation) set once per inputs. */
export function combinedFit(inp: ScoreInputs): ReturnType<typeof fitKde> {
  let f = fits.get(inp.model.heldOut);
  if (!f) {
    f = fitKde(combinedStatistics(inp, "heldOut"));
    fits.set(inp.model.heldOut, f);
  }
  return f;
}

/** The combined detector's scores of one set; the held-out set's own leave each example out of the density. */
function combinedScore(inp: ScoreInputs, set: SetName): Float64Array {
  const { fit, rows } = combinedFit(inp);
  const stats = combinedStatistics(inp, set);
  if (set !== "heldOut") return kdeScore(fit, stats);
  const leaveOut = new Int32Array(inp.model.heldOut.logPx.length).fill(-1);
  rows.forEach((example, point) => (leaveOut[example] = point));
  return kdeScore(fit, stats, leaveOut);
}

/**
 * The groups of statistics the test-family detector tests (each a Gaussian of its own): every statistic
 * alone; log p(x) alone (typicality's statistic) and with each codec's length (input complexity's relation,
 * Serra et al. 2020); for a flow, log p(z) with the log-det (Nalisnick et al. 2019's split); and all of them
 * together (the combined detector's omnibus Gaussian). Fixed from the literature, before any data was scored.
 */
export function testGroups(combinedNames: string[]): Record<string, string[]> {
  const codecs = combinedNames.filter((n) => n.endsWith(" bits/dim"));
  const groups: Record<string, string[]> = {};
  for (const n of combinedNames) groups[n] = [n];
  groups["log p(x)"] = ["log p(x)"];
  for (const c of codecs) groups[`log p(x), ${c}`] = ["log p(x)", c];
  if (combinedNames.includes("log-det")) groups["log p(z), log-det"] = ["log p(z) total", "log-det"];
  groups.all = combinedNames;
  return groups;
}

/** The combined statistics with the sums the test groups read: log p(x), and a flow's total log p(z). */
export const testStatistics = (inp: ScoreInputs, set: SetName): Statistics => withSums(inp, set, combinedStatistics(inp, set));

function withSums(inp: ScoreInputs, set: SetName, s: Statistics): Statistics {
  const e = inp.model[set],
    d = inp.dims;
  const out: Statistics = { ...s, "log p(x)": Float64Array.from(e.logPx, (v) => v / d) };
  if (s["log-det"]) out["log p(z) total"] = Float64Array.from(e.logPx, (v, i) => v / d - s["log-det"]![i]!);
  return out;
}

const testFits = new WeakMap<ModelEval, { fit: TestFamilyFit; dropped: string[] }>();
/** The test-family detector's Gaussians, fitted on the held-out (validation) set once per inputs. */
export function testsFit(inp: ScoreInputs): TestFamilyFit & { dropped: string[] } {
  let f = testFits.get(inp.model.heldOut);
  if (!f) {
    const base = combinedStatistics(inp, "heldOut");
    f = fitTests(withSums(inp, "heldOut", base), testGroups(Object.keys(base)));
    testFits.set(inp.model.heldOut, f);
  }
  return { ...f.fit, dropped: f.dropped };
}

interface Gaussian2 {
  m0: number;
  m1: number;
  s00: number;
  s01: number;
  s11: number;
  det: number;
}
const flowFeatures = (e: ModelEval, dims: number) => Array.from(e.logPz!, (pz, i) => [pz / dims, e.logDet![i]! / dims] as const);

/** A Gaussian fitted to held-out [log p(z), log-det] per dimension, or why none can be. */
function fitFlowTerms(inp: ScoreInputs): Gaussian2 | string {
  const held = flowFeatures(inp.model.heldOut, inp.dims).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
  if (held.length < 3) return "fewer than 3 held-out examples with finite log p(z) and log-det";
  const m0 = held.reduce((s, f) => s + f[0], 0) / held.length,
    m1 = held.reduce((s, f) => s + f[1], 0) / held.length;
  let s00 = 0,
    s01 = 0,
    s11 = 0;
  for (const [a, b] of held) {
    s00 += (a - m0) ** 2;
    s01 += (a - m0) * (b - m1);
    s11 += (b - m1) ** 2;
  }
  [s00, s01, s11] = [s00 / (held.length - 1), s01 / (held.length - 1), s11 / (held.length - 1)];
  const det = s00 * s11 - s01 * s01;
  // A volume-preserving flow (CV-Glow) has one log-det for every input: the pair carries one number.
  if (!(det > 1e-12 * Math.max(s00 * s11, Number.MIN_VALUE)))
    return "log p(z) and the log-det are collinear on held-out data (a volume-preserving flow has a constant log-det)";
  return { m0, m1, s00, s01, s11, det };
}

/** The Mahalanobis distance of [log p(z), log-det] per dimension from the held-out Gaussian. */
function flowTermsScore(inp: ScoreInputs, set: SetName): Float64Array {
  const g = fitFlowTerms(inp);
  if (typeof g === "string") throw new RangeError(`flow-terms: ${g}`);
  return Float64Array.from(flowFeatures(inp.model[set], inp.dims), ([a, b]) => {
    if (!Number.isFinite(a) || !Number.isFinite(b)) return Infinity; // beyond float range: as far as it gets
    const da = a - g.m0,
      db = b - g.m1;
    return Math.sqrt((g.s11 * da * da - 2 * g.s01 * da * db + g.s00 * db * db) / g.det);
  });
}

export const SCORES: Record<ScoreName, ScoreDefinition> = {
  "log-likelihood": {
    name: "log-likelihood",
    cite: "Nalisnick et al., Do Deep Generative Models Know What They Don't Know?, ICLR 2019 (the baseline they show failing)",
    missing: () => undefined,
    compute: (inp, set) => map(inp.model[set].logPx, (lp) => -lp),
  },
  typicality: {
    name: "typicality",
    cite: "Nalisnick, Matsukawa, Teh, Lakshminarayanan, Detecting Out-of-Distribution Inputs to Deep Generative Models Using Typicality, 2019",
    missing: () => undefined,
    compute(inp, set) {
      // H from training data, as the paper; without it (a service's stored values), from the held-out set.
      const h = inp.entropy ?? entropyEstimate((inp.train ?? inp.model.heldOut).logPx);
      return map(inp.model[set].logPx, (lp) => Math.abs(-lp - h));
    },
  },
  "likelihood-ratio": {
    name: "likelihood-ratio",
    cite: "Ren et al., Likelihood Ratios for Out-of-Distribution Detection, NeurIPS 2019",
    missing: (inp) => (inp.background ? undefined : "needs a background model (--background RUN, trained with `train --background`)"),
    compute: (inp, set) => map(inp.model[set].logPx, (lp, i) => inp.background![set].logPx[i]! - lp),
  },
  "input-complexity": inputComplexity("input-complexity", "png"),
  "input-complexity-brotli": inputComplexity("input-complexity-brotli", "brotli"),
  "input-complexity-webp": inputComplexity("input-complexity-webp", "webp"),
  waic: {
    name: "waic",
    cite: "Choi, Jang, Alemi, WAIC, but Why? Generative Ensembles for Robust Anomaly Detection, 2018",
    missing: (inp) =>
      inp.ensemble && inp.ensemble.length >= 2 ? undefined : "needs an ensemble of at least 2 runs (--ensemble RUN RUN ...; 5 or more recommended)",
    compute(inp, set) {
      // WAIC(x) = E[log p(x)] - Var[log p(x)] over the members; the score is its negation.
      const members = inp.ensemble!.map((e) => e[set].logPx);
      return map(members[0]!, (_, i) => {
        const v = members.map((m) => m[i]!);
        const mean = v.reduce((s, x) => s + x, 0) / v.length;
        const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1);
        return -(mean - variance);
      });
    },
  },
  "likelihood-regret": {
    name: "likelihood-regret",
    cite: "Xiao, Yan, Amit, Likelihood Regret: An Out-of-Distribution Detection Score for Variational Auto-encoder, NeurIPS 2020",
    missing: (inp) => (inp.regret ? undefined : "applies to a VAE run only"),
    compute: (inp, set) => inp.regret![set],
  },
  "flow-terms": {
    name: "flow-terms",
    cite: "this toolkit: Mahalanobis distance of [log p(z), log-det] per dimension from held-out data (the two terms of Nalisnick et al. 2019, Figure 4)",
    missing(inp) {
      if (!inp.model.heldOut.logPz || !inp.model.heldOut.logDet) return "applies to flows only (it reads log p(z) and the log-det)";
      const g = fitFlowTerms(inp);
      return typeof g === "string" ? g : undefined;
    },
    compute: flowTermsScore,
  },
  combined: {
    name: "combined",
    cite: "this toolkit, after Morningstar et al., Density of States Estimation for Out-of-Distribution Detection, AISTATS 2021 (DoSE-KDE): -log of a kernel density of the model's and codecs' statistics, fitted on validation data (combined.ts)",
    missing: (inp) => (inp.complexity ? undefined : "needs the compressed lengths of every set"),
    compute: combinedScore,
  },
  "combined-tests": {
    name: "combined-tests",
    cite: "this toolkit, after Bergamin et al., Model-agnostic out-of-distribution detection using combined statistical tests, AISTATS 2022, and Tippett 1931: the smallest p-value over Gaussian tests of the literature's statistics, fitted on validation data (combined.ts)",
    missing: (inp) => (inp.complexity ? undefined : "needs the compressed lengths of every set"),
    compute: (inp, set) => testsScore(testsFit(inp), testStatistics(inp, set)),
  },
};

/** The codec each input-complexity score compresses with. */
export const COMPRESSOR_OF: Partial<Record<ScoreName, Compressor>> = {
  "input-complexity": "png",
  "input-complexity-brotli": "brotli",
  "input-complexity-webp": "webp",
};

/**
 * The codecs the combined detector reads: PNG and Brotli. Not lossless WebP: at its strongest settings it
 * adds 4.1 ms an image, nearly twice a cpu Glow's own pass, which a service pays on every request: with it
 * the combined verdict served 149 requests/s at 64 connections against 383-430 without (BENCHMARKS.md). On the
 * development pairs (`ood RUN --dev`, experiments/detector-design.ts) the density with all three lengths
 * had the best worst pair (0.957 against 0.863), but a design the service cannot afford is not a candidate;
 * among those without WebP this one is the best (README.md).
 */
export const COMBINED_CODECS: readonly Compressor[] = ["png", "brotli"];

/** The codecs a score compresses each image with. */
export const codecsOf = (score: ScoreName): Compressor[] =>
  score === "combined" || score === "combined-tests" ? [...COMBINED_CODECS] : COMPRESSOR_OF[score] ? [COMPRESSOR_OF[score]!] : [];

/** Parses --scores: "all" or a comma-separated list of names. */
export function parseScoreNames(spec: string): ScoreName[] {
  if (spec.trim() === "all") return [...SCORE_NAMES];
  const names = spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new Error(`--scores: no score named; use 'all' or some of ${SCORE_NAMES.join(", ")}`);
  for (const n of names)
    if (!(SCORE_NAMES as readonly string[]).includes(n)) throw new Error(`--scores: unknown score '${n}'; the scores are ${SCORE_NAMES.join(", ")} (or 'all')`);
  return names as ScoreName[];
}
