/**
 * `oodScores`: every OOD score of a trained run on one in-distribution / OOD pair, with the detection
 * metrics, each score's throughput and the threshold a service would use. The CLI's `ood` command and the
 * TypeScript API are this one function. Per-example scores go to RUN/ood/<in>__<ood>.json for the report.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import * as torch from "../tensor/index.js";
import type { ImageDataset, LoadOptions } from "../data/index.js";
import { dimsOf } from "../models/density.js";
import { VAE } from "../models/vae/vae.js";
import { evaluate } from "../train/evaluate.js";
import { loadSplit, openRun, type OpenRun } from "../train/run.js";
import { writeFileAtomic } from "../train/run-files.js";
import { expectRunRole } from "../train/background.js";
import { detectionMetrics, inDistributionThreshold, type DetectionMetrics } from "./metrics.js";
import { likelihoodRegret, type RegretOptions } from "./regret.js";
import { type ModelEval, type PerSet, SCORES, SCORE_NAMES, SET_NAMES, type ScoreInputs, type ScoreName } from "./scores.js";
import { loadSet } from "./sets.js";
import { bootstrapThreshold, entropyEstimate, TYPICALITY_BATCH_SIZES, typicalityStatistic } from "./typicality.js";

export interface OodOptions {
  /** The run folder of the model. */
  run: string;
  /** In-distribution test data, e.g. "fashion-mnist:test". */
  in: string;
  /** OOD data: a split ("mnist:test") or a probe (constant, uniform, grayed[:F]). */
  ood: string;
  /** Held-out in-distribution data for the entropy, fitted statistics and thresholds; default the run's training split. */
  heldOut?: string;
  /** Run folder of a background model (likelihood ratio). */
  background?: string;
  /** Further run folders of an ensemble (WAIC); the main run is its first member. */
  ensemble?: string[];
  scores?: readonly ScoreName[];
  /** At most this many images of each set (the held-out set: at most 5,000 unless this says otherwise). */
  limit?: number;
  /** Likelihood Regret re-fits the encoder per image: at most this many images of each set (default 200). */
  regretLimit?: number;
  batchSize?: number;
  device?: torch.Device;
  data?: LoadOptions;
  regret?: RegretOptions;
  /** Write RUN/ood/<in>__<ood>.json (default true). */
  write?: boolean;
}

export interface ScoreResult extends DetectionMetrics {
  /** Images scored per second, counting the model passes the score needs and its own work. */
  imagesPerSecond: number;
  /** Flag inputs with a score above this as OOD: 95% of held-out in-distribution inputs score at or below it. */
  threshold: number;
}

export interface BatchScoreResult extends DetectionMetrics {
  batchSize: number;
  /** Bootstrap threshold epsilon (alpha = 0.01) of the typicality test at this batch size. */
  epsilon: number;
  batches: { in: number; ood: number };
}

export interface OodReport {
  in: string;
  ood: string;
  heldOut: string;
  run: string;
  model: string;
  /** The checkpoint's training step: thresholds belong to this model only. */
  step: number;
  n: PerSet<number>;
  /** OOD is the positive class; larger scores mean more OOD. */
  scores: Partial<Record<ScoreName, ScoreResult>>;
  /** Scores asked for that do not apply, with the reason. */
  skipped: Partial<Record<ScoreName, string>>;
  /** The typicality test on batches of 2 to 25 inputs. */
  batchScores: Record<string, BatchScoreResult>;
  /** Every example's score, per score and set (for histograms and ROC curves). */
  perExample: Partial<Record<ScoreName, PerSet<number[]>>>;
  /**
   * The main model's per-example values on the held-out set: what a service needs to score new images
   * the same way (typicality's entropy, flow-terms' Gaussian) without evaluating the held-out data again.
   */
  heldOutModel: { logPx: number[]; logPz?: number[]; logDet?: number[] };
}

const HELD_OUT_DEFAULT = 5000;

/**
 * Per-example values of a run on the three sets, and the seconds that took. Evaluated here, not read from
 * the run's score cache (lib/train/score.ts): each score's images/s times these model passes.
 */
function evaluateRun(run: OpenRun, data: PerSet<ImageDataset>, o: OodOptions): { evals: PerSet<ModelEval>; seconds: number; images: number } {
  const t0 = performance.now();
  const evals = {} as PerSet<ModelEval>;
  let images = 0;
  for (const set of SET_NAMES) {
    const limit = set === "heldOut" ? (o.limit ?? HELD_OUT_DEFAULT) : o.limit;
    const r = evaluate(run.model, data[set], {
      ...(limit !== undefined ? { limit } : {}),
      batchSize: o.batchSize ?? 256,
      ...(o.device ? { device: o.device } : {}),
    });
    evals[set] = { logPx: r.logPx, ...(r.logPz ? { logPz: r.logPz } : {}), ...(r.logDet ? { logDet: r.logDet } : {}) };
    images += r.n;
  }
  return { evals, seconds: (performance.now() - t0) / 1000, images };
}

/** Opens a run, gives its model to f (sync or async), and disposes it afterwards. */
async function withRun<T>(dir: string, device: torch.Device | undefined, f: (run: OpenRun) => T | Promise<T>): Promise<T> {
  const run = openRun(dir, device);
  try {
    return await f(run);
  } finally {
    run.model.dispose();
  }
}

/** A background or ensemble run must model the same images as the main one. */
function checkCompatible(main: OpenRun, other: OpenRun, role: string): void {
  const a = main.model.imageShape,
    b = other.model.imageShape;
  if (a.join() !== b.join())
    throw new Error(`${role} ${other.dir} models images of shape [${b}], the run ${main.dir} [${a}]: give a ${role} trained on the same data set`);
  const ds = (r: OpenRun) => r.config.dataset.split(":")[0];
  if (ds(main) !== ds(other))
    throw new Error(
      `${role} ${other.dir} was trained on ${other.config.dataset}, the run on ${main.config.dataset}: give a ${role} trained on the same data set`,
    );
}

function imagesTensor(data: ImageDataset, n: number, device: torch.Device | undefined): torch.Tensor {
  // Bin centres (x + 0.5) / 256: deterministic, what a discrete model reads exactly.
  const d = data.channels * data.height * data.width;
  const x = Float32Array.from(data.images.subarray(0, n * d), (v) => (v + 0.5) / 256);
  const t = torch.tensor(x, { shape: [n, data.channels, data.height, data.width] });
  return device && device !== "cpu" ? torch.tidy(() => t.to(device)) : t;
}

export async function oodScores(o: OodOptions): Promise<OodReport> {
  const wanted = o.scores ?? SCORE_NAMES;
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1)) throw new RangeError(`limit must be a positive integer, got ${o.limit}`);
  if (o.ensemble) {
    // WAIC's variance needs two members at least: RUN and one more (5 or more recommended).
    if (o.ensemble.length === 0)
      throw new Error("--ensemble: an ensemble of one (RUN alone) has no variance: give at least one more run, 4 or more for M >= 5");
    const all = [o.run, ...o.ensemble].map((d) => resolve(d));
    const twice = all.find((d, i) => all.indexOf(d) !== i);
    if (twice) throw new Error(`--ensemble: ${twice} is listed twice (RUN is the first member already)`);
  }
  return withRun(o.run, o.device, async (main) => {
    expectRunRole(o.run, main.config, "model");
    const heldOutSpec = o.heldOut ?? main.config.dataset;
    if (!o.in.includes(":")) throw new Error(`--in ${o.in}: expected DATASET:SPLIT, e.g. fashion-mnist:test`);
    const inData = await loadSplit(o.in, o.data);
    const data: PerSet<ImageDataset> = {
      heldOut: await loadSet(heldOutSpec, inData, { data: o.data }),
      in: inData,
      ood: await loadSet(o.ood, inData, { data: o.data, ...(o.limit ? { n: o.limit } : {}) }),
    };
    for (const set of SET_NAMES) {
      const d = data[set],
        shape = main.model.imageShape;
      if (d.channels !== shape[0] || d.height !== shape[1] || d.width !== shape[2]) {
        throw new Error(
          `${set === "heldOut" ? "--held-out" : `--${set}`} ${set === "heldOut" ? heldOutSpec : o[set]} has images of ${d.channels}x${d.height}x${d.width}, the model ${shape.join("x")}`,
        );
      }
    }
    const dims = dimsOf(main.model.imageShape);
    const mainEval = evaluateRun(main, data, o);
    const inputs: ScoreInputs = { data, dims, model: mainEval.evals };
    const passSeconds: Partial<Record<"model" | "background" | "ensemble" | "regret", number>> = { model: mainEval.seconds / mainEval.images };

    if (o.background && wanted.includes("likelihood-ratio")) {
      const bg = await withRun(o.background, o.device, (run) => {
        checkCompatible(main, run, "background model");
        expectRunRole(o.background!, run.config, "background");
        return evaluateRun(run, data, o);
      });
      inputs.background = bg.evals;
      passSeconds.background = bg.seconds / bg.images;
    }
    if (o.ensemble && wanted.includes("waic")) {
      let seconds = mainEval.seconds,
        images = mainEval.images;
      inputs.ensemble = [mainEval.evals];
      for (const dir of o.ensemble) {
        const member = await withRun(dir, o.device, (run) => {
          checkCompatible(main, run, "ensemble member");
          expectRunRole(dir, run.config, "model");
          return evaluateRun(run, data, o);
        });
        inputs.ensemble.push(member.evals);
        seconds += member.seconds;
        images += member.images;
      }
      passSeconds.ensemble = seconds / (images / inputs.ensemble.length);
    }
    if (main.model instanceof VAE && wanted.includes("likelihood-regret")) {
      const vae = main.model;
      const t0 = performance.now();
      let count = 0;
      const regret = {} as PerSet<Float64Array>;
      for (const set of SET_NAMES) {
        const n = Math.min(mainEval.evals[set].logPx.length, o.regretLimit ?? 200);
        const x = imagesTensor(data[set], n, o.device);
        try {
          regret[set] = likelihoodRegret(vae, x, o.regret);
        } finally {
          x.dispose();
        }
        count += n;
      }
      inputs.regret = regret;
      passSeconds.regret = (performance.now() - t0) / 1000 / count;
    }

    const report: OodReport = {
      in: o.in,
      ood: o.ood,
      heldOut: heldOutSpec,
      run: o.run,
      model: main.config.kind,
      step: main.step,
      n: { heldOut: mainEval.evals.heldOut.logPx.length, in: mainEval.evals.in.logPx.length, ood: mainEval.evals.ood.logPx.length },
      scores: {},
      skipped: {},
      batchScores: {},
      perExample: {},
      heldOutModel: Object.fromEntries(Object.entries(mainEval.evals.heldOut).map(([k, v]) => [k, Array.from(v as Float64Array)])) as OodReport["heldOutModel"],
    };
    const cost = (name: ScoreName) =>
      name === "likelihood-ratio"
        ? passSeconds.model! + passSeconds.background!
        : name === "waic"
          ? passSeconds.ensemble!
          : name === "likelihood-regret"
            ? passSeconds.regret!
            : passSeconds.model!;
    Object.assign(report, await scoreSets(inputs, wanted, cost));
    if (wanted.includes("typicality")) report.batchScores = typicalityBatches(inputs);

    if (o.write ?? true) {
      mkdirSync(main.folder.oodDir, { recursive: true });
      writeFileAtomic(join(main.folder.oodDir, oodFileName(o.in, o.ood)), JSON.stringify(report) + "\n");
    }
    return report;
  });
}

/**
 * Every wanted score on the three sets, with its metrics: those that do not apply are skipped with the
 * reason. `secondsPerImage` is the cost of the model passes a score needs (its own work is timed here).
 */
export async function scoreSets(
  inputs: ScoreInputs,
  wanted: readonly ScoreName[],
  secondsPerImage: (name: ScoreName) => number,
): Promise<Pick<OodReport, "scores" | "skipped" | "perExample">> {
  const out: Pick<OodReport, "scores" | "skipped" | "perExample"> = { scores: {}, skipped: {}, perExample: {} };
  for (const name of wanted) {
    const def = SCORES[name];
    const why = def.missing(inputs);
    if (why) {
      out.skipped[name] = why;
      continue;
    }
    const t0 = performance.now();
    const values = {} as PerSet<Float64Array>;
    for (const set of SET_NAMES) values[set] = await def.compute(inputs, set);
    const own = (performance.now() - t0) / 1000 / SET_NAMES.reduce((n, set) => n + values[set].length, 0);
    try {
      out.scores[name] = {
        ...detectionMetrics(values.in, values.ood),
        imagesPerSecond: 1 / (secondsPerImage(name) + own),
        threshold: inDistributionThreshold(values.heldOut),
      };
    } catch (e) {
      // Say which score: a NaN likelihood breaks every score built on it.
      throw new RangeError(`${name}: ${(e as Error).message}`);
    }
    out.perExample[name] = { heldOut: Array.from(values.heldOut), in: Array.from(values.in), ood: Array.from(values.ood) };
  }
  return out;
}

export const oodFileName = (inSpec: string, oodSpec: string) => `${inSpec}__${oodSpec}`.replace(/[^A-Za-z0-9_.-]+/g, "_") + ".json";

/** The typicality test on consecutive batches of 2 to 25 inputs of each set. */
function typicalityBatches(inp: ScoreInputs): Record<string, BatchScoreResult> {
  const h = entropyEstimate(inp.model.heldOut.logPx);
  const out: Record<string, BatchScoreResult> = {};
  for (const m of TYPICALITY_BATCH_SIZES.filter((b) => b > 1)) {
    const a = typicalityStatistic(inp.model.in.logPx, h, m),
      b = typicalityStatistic(inp.model.ood.logPx, h, m);
    if (a.length === 0 || b.length === 0) continue; // fewer inputs than one batch
    out[`typicality-${m}`] = {
      batchSize: m,
      ...detectionMetrics(a, b),
      epsilon: bootstrapThreshold(inp.model.heldOut.logPx, h, m),
      batches: { in: a.length, ood: b.length },
    };
  }
  return out;
}
