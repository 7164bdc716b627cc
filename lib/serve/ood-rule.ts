// Which OOD score a server answers with, and the held-out statistics it needs, read from the thresholds
// that `torchts-ood ood` stored in RUN/ood/*.json. The score itself is lib/ood's own definition
// (SCORES[name].compute), applied to a batch of served images beside the stored held-out values, so a
// served verdict is the `ood` command's verdict by construction.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { LoadOptions } from "../data/index.js";
import { codecsOf, combinedStatistics, SCORE_NAMES, SCORES, type ModelEval, type ScoreInputs, type ScoreName } from "../ood/scores.js";
import type { OodReport } from "../ood/ood-scores.js";
import { kdeScore, readKde, type KdeFit } from "../ood/combined.js";
import { complexityBitsPerDim, type Compressor } from "../ood/complexity.js";
import { MiB, readTextFile } from "../files.js";

/** What a worker needs to compute the score: plain arrays, so it crosses postMessage. */
export interface OodRule {
  score: ScoreName;
  /** Flag an image as OOD when its score is above this (95% of held-out in-distribution data are at or below). */
  threshold: number;
  /** The ood file the threshold comes from, and the held-out data it was fitted on. */
  file: string;
  heldOut: string;
  /** Held-out per-example values the score reads (typicality: log p(x); flow-terms: log p(z) and log-det). */
  heldOutEval: ModelEval;
  /** The checkpoint step the thresholds were computed at (files written before it was stored: undefined). */
  step?: number;
  /** typicality: the entropy estimate `ood` used (from training data), when the file stores it. */
  entropy?: number;
  /** combined: the kernel density fitted on the validation data. */
  combined?: KdeFit;
}

/** The rule, or why there is none (every answer then carries this note instead of a verdict). */
export type OodChoice = { rule: OodRule } | { note: string };

// Scores of one model on one image: what a pool can compute. The others need a second model or a refit.
const PER_IMAGE: readonly ScoreName[] = [
  "combined",
  "log-likelihood",
  "typicality",
  "input-complexity",
  "input-complexity-brotli",
  "input-complexity-webp",
  "flow-terms",
];

/** The codecs a score compresses each image with. */

export const noVerdict = (why: string) => ({ note: `no OOD verdict: ${why}; the answer has log p(x) and bits/dim only` });

/**
 * Reads the threshold of `score` from `file` (default: the newest RUN/ood/*.json that has it).
 * flow-terms needs held-out log p(z) and log-det, which the file does not store: `refit` computes them
 * (the caller evaluates the model on the held-out data again) and must reproduce the stored scores.
 */
export async function chooseOodRule(
  run: string,
  score: ScoreName,
  imageShape: readonly number[],
  o: { file?: string; checkpointMtimeMs?: number; refit?: (heldOut: string, n: number, data?: LoadOptions) => Promise<ModelEval>; data?: LoadOptions } = {},
): Promise<OodChoice> {
  if (!PER_IMAGE.includes(score)) {
    return noVerdict(
      `${score} is not computed from one model and one image (${score === "likelihood-ratio" ? "it needs a background model" : score === "waic" ? "it needs an ensemble" : "it re-fits the model per image"}); serve with --ood-score ${PER_IMAGE.join(", ")}`,
    );
  }
  const found = o.file ? [o.file] : oodFiles(run);
  if (found.length === 0) return noVerdict(`${run}/ood/ holds no thresholds; run \`torchts-ood ood ${run} --in DATASET:test --ood OTHER:test\` first`);
  const reports = found.map((f) => ({ f, r: readReport(f) }));
  const hit = reports.find(({ r }) => r.scores?.[score] && r.perExample?.[score]);
  if (!hit)
    return noVerdict(
      `no ood file of ${run} has the ${score} score (${reports.map(({ f, r }) => `${f}: ${r.skipped?.[score] ?? "not asked for"}`).join("; ")})`,
    );
  const { f: file, r } = hit;
  // A checkpoint written after the thresholds belongs to a model trained further: its scores moved.
  if (o.checkpointMtimeMs !== undefined && o.checkpointMtimeMs > statSync(file).mtimeMs + 2000) {
    return noVerdict(
      `${file} is older than the run's checkpoint (the run trained on after \`ood\`), so its thresholds belong to another model; run \`torchts-ood ood\` again`,
    );
  }
  const threshold = r.scores[score]!.threshold;
  let combined: KdeFit | undefined;
  if (score === "combined") {
    if (!r.combined || !("points" in r.combined))
      return noVerdict(`${file} has combined scores but not the fitted kernel density (written by an older version); run \`torchts-ood ood\` again`);
    try {
      combined = readKde(r.combined, `${file}: the combined detector's fit`);
    } catch (e) {
      return noVerdict((e as Error).message);
    }
  }
  const stored = r.perExample[score]!.heldOut;
  let heldOutEval: ModelEval = { logPx: new Float64Array(0) };
  if (r.heldOutModel && (score === "typicality" || score === "flow-terms")) {
    // The file stores the model's own held-out values: nothing to evaluate again.
    const h = r.heldOutModel;
    heldOutEval = {
      logPx: Float64Array.from(h.logPx),
      ...(h.logPz ? { logPz: Float64Array.from(h.logPz) } : {}),
      ...(h.logDet ? { logDet: Float64Array.from(h.logDet) } : {}),
    };
  } else if (score === "typicality") {
    // H is the mean held-out negative log-likelihood: the log-likelihood score's held-out values are -log p(x).
    const nll = r.perExample["log-likelihood"]?.heldOut;
    if (!nll)
      return noVerdict(
        `typicality needs the held-out log-likelihoods, and ${file} was written without the log-likelihood score; run \`ood\` with --scores log-likelihood,typicality`,
      );
    heldOutEval = { logPx: Float64Array.from(nll, (v) => -v) };
  } else if (score === "flow-terms") {
    if (!o.refit) return noVerdict(`flow-terms needs the held-out log p(z) and log-det, which ${file} does not store`);
    try {
      heldOutEval = await o.refit(r.heldOut, r.n.heldOut, o.data);
    } catch (e) {
      return noVerdict(
        `flow-terms needs the held-out log p(z) and log-det, which ${file} does not store, and computing them again failed: ${(e as Error).message}`,
      );
    }
  }
  // The stored held-out scores must come out again: else the file and this model disagree.
  const extra = { ...(r.entropy !== undefined ? { entropy: r.entropy } : {}), ...(combined ? { combined } : {}) };
  if (score === "typicality" || score === "flow-terms") {
    const again = await computeScores({ score, heldOutEval, ...extra }, heldOutEval, new Uint8Array(0), imageShape);
    const worst = again.reduce(
      (m, v, i) => Math.max(m, Math.abs(v - stored[i]!) / Math.max(1, Math.abs(stored[i]!))),
      again.length === stored.length ? 0 : Infinity,
    );
    if (!(worst < 1e-6))
      return noVerdict(
        `the held-out ${score} scores computed again differ from those in ${file} (relative ${worst.toExponential(2)}): the file belongs to another checkpoint; run \`torchts-ood ood\` again`,
      );
  }
  return { rule: { score, threshold, file, heldOut: r.heldOut, heldOutEval, ...extra, ...(r.step !== undefined ? { step: r.step } : {}) } };
}

/**
 * The score of each image of a batch: lib/ood's definition with the held-out values beside the batch's.
 * `pixels` are the 8-bit images (input complexity compresses them); `shape` is [C, H, W].
 */
export async function computeScores(
  rule: Pick<OodRule, "score" | "heldOutEval" | "entropy" | "combined">,
  batch: ModelEval,
  pixels: Uint8Array,
  shape: readonly number[],
): Promise<Float64Array> {
  const [c, h, w] = shape as [number, number, number];
  const n = batch.logPx.length;
  const images = { name: "served", split: "request", images: pixels, n, channels: c, height: h, width: w };
  // Only "heldOut" and "in" are read: the "in" set is the batch.
  const inputs: ScoreInputs = {
    data: { heldOut: images, in: images, ood: images },
    dims: c * h * w,
    model: { heldOut: rule.heldOutEval, in: batch, ood: batch },
  };
  if (rule.entropy !== undefined) inputs.entropy = rule.entropy;
  const codecs = codecsOf(rule.score);
  if (codecs.length) {
    const bits: Partial<Record<Compressor, Float64Array>> = {};
    for (const k of codecs) bits[k] = await complexityBitsPerDim(images, k, n);
    inputs.complexity = { heldOut: {}, in: bits, ood: {} };
  }
  // combined: the density `ood` fitted on validation data, not one fitted again here.
  if (rule.score === "combined") return kdeScore(rule.combined!, combinedStatistics(inputs, "in"));
  return SCORES[rule.score].compute(inputs, "in");
}

/** RUN/ood/*.json, newest first. */
function oodFiles(run: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(run, "ood"));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(".json"))
    .map((n) => join(run, "ood", n))
    .map((f) => ({ f, t: statSync(f).mtimeMs }))
    .sort((a, b) => b.t - a.t)
    .map(({ f }) => f);
}

function readReport(file: string): OodReport {
  try {
    return JSON.parse(readTextFile(file, 256 * MiB, "the ood report")) as OodReport;
  } catch (e) {
    throw new Error(`--ood-file ${file}: cannot read it as an ood report (${(e as Error).message}); give a file written by \`torchts-ood ood\``);
  }
}

export const isScoreName = (s: string): s is ScoreName => (SCORE_NAMES as readonly string[]).includes(s);
