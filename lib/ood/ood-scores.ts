/**
 * `oodScores`: every OOD score of a trained run on one in-distribution / OOD pair, with the detection
 * metrics, each score's throughput and the threshold a service would use; `oodSuite`: every pair that
 * applies to the run's data set, with each score's worst pair. The CLI's `ood` command and the TypeScript
 * API are these functions. Per-example scores go to RUN/ood/<held-out>__<in>__<ood>.json for the report.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import * as torch from "../tensor/index.js";
import type { ImageDataset, LoadOptions } from "../data/index.js";
import { dimsOf } from "../models/density.js";
import { VAE } from "../models/vae/vae.js";
import { evaluate } from "../train/evaluate.js";
import { loadSplit, openRun, splitSizes, type OpenRun } from "../train/run.js";
import { namesDatasetSplit, splitsOverlap } from "../train/val-split.js";
import { complexityBitsPerDim, type Compressor } from "./complexity.js";
import { storeKde, type StoredKde } from "./combined.js";
import { writeFileAtomic } from "../train/run-files.js";
import { expectRunRole } from "../train/background.js";
import { detectionMetrics, inDistributionThreshold, type DetectionMetrics } from "./metrics.js";
import { likelihoodRegret, type RegretOptions } from "./regret.js";
import { codecsOf, combinedFit, type ModelEval, type PerSet, SCORES, SCORE_NAMES, SET_NAMES, type ScoreInputs, type ScoreName } from "./scores.js";
import { loadSet } from "./sets.js";
import { bootstrapThreshold, entropyEstimate, TYPICALITY_BATCH_SIZES, typicalityStatistic } from "./typicality.js";

export interface OodOptions {
  /** The run folder of the model. */
  run: string;
  /** In-distribution test data, e.g. "fashion-mnist:test". */
  in: string;
  /** OOD data: a split ("mnist:test") or a probe (constant, uniform, grayed[:F]). */
  ood: string;
  /** Held-out in-distribution data for the fitted statistics and thresholds; default the run's validation split. */
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
  /** No progress lines on stderr. */
  quiet?: boolean;
  /** Write RUN/ood/<held-out>__<in>__<ood>.json (default true). */
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
  /** typicality's entropy estimate H (from training data): what a service needs to score typicality as `ood` did. */
  entropy?: number;
  /** The combined detector's kernel density, fitted on the held-out set (what a service needs to score with it). */
  combined?: StoredKde;
}

const HELD_OUT_DEFAULT = 5000;
/** Training images whose mean NLL is typicality's entropy estimate (Nalisnick et al. take it from training data). */
const ENTROPY_IMAGES = 5000;

/** What the models and codecs give on one set: evaluated once per set and shared by every pair. */
interface SetEvals {
  data: ImageDataset;
  model: ModelEval;
  background?: ModelEval;
  ensemble?: ModelEval[];
  complexity?: Partial<Record<Compressor, Float64Array>>;
}

/** Seconds per image of each kind of pass, summed over the sets evaluated so far. */
class PassTimes {
  private readonly t: Record<string, { s: number; n: number }> = {};
  add(kind: string, seconds: number, images: number): void {
    const e = (this.t[kind] ??= { s: 0, n: 0 });
    e.s += seconds;
    e.n += images;
  }
  perImage(kind: string): number {
    const e = this.t[kind];
    return e && e.n > 0 ? e.s / e.n : 0;
  }
}

/**
 * One run (with its background and ensemble runs) open for scoring: evaluates each set once at bin
 * centres (x + 0.5) / 256, as the service scores, and keeps the result for every pair that names it.
 */
export class OodSession {
  readonly runs: OpenRun[] = [];
  readonly times = new PassTimes();
  private readonly sets = new Map<string, Promise<SetEvals>>();
  main!: OpenRun;
  background?: OpenRun;
  ensemble: OpenRun[] = [];

  constructor(readonly o: Omit<OodOptions, "in" | "ood">) {}

  open(): void {
    this.main = this.track(openRun(this.o.run, this.o.device));
    expectRunRole(this.o.run, this.main.config, "model");
    const wanted = this.wanted;
    if (this.o.background && wanted.includes("likelihood-ratio")) {
      this.background = this.track(openRun(this.o.background, this.o.device));
      checkCompatible(this.main, this.background, "background model");
      expectRunRole(this.o.background, this.background.config, "background");
    }
    if (this.o.ensemble && wanted.includes("waic"))
      for (const dir of this.o.ensemble) {
        const r = this.track(openRun(dir, this.o.device));
        checkCompatible(this.main, r, "ensemble member");
        expectRunRole(dir, r.config, "model");
        this.ensemble.push(r);
      }
  }

  get wanted(): readonly ScoreName[] {
    return this.o.scores ?? SCORE_NAMES;
  }

  private track(r: OpenRun): OpenRun {
    this.runs.push(r);
    return r;
  }

  close(): void {
    for (const r of this.runs) r.model.dispose();
  }

  /** The models' values (and the codecs' lengths, when a score reads them) on a set, at most `limit` images. */
  evalSet(key: string, data: ImageDataset, limit: number | undefined): Promise<SetEvals> {
    let p = this.sets.get(key);
    if (!p) {
      p = this.evaluateSet(data, limit);
      this.sets.set(key, p);
    }
    return p;
  }

  private async evaluateSet(data: ImageDataset, limit: number | undefined): Promise<SetEvals> {
    const one = (run: OpenRun, kind: string): ModelEval => {
      const t0 = performance.now();
      const r = evaluate(run.model, data, {
        ...(limit !== undefined ? { limit } : {}),
        batchSize: this.o.batchSize ?? 256,
        dequantize: false, // bin centres: what the service scores
        ...(this.o.device ? { device: this.o.device } : {}),
      });
      this.times.add(kind, (performance.now() - t0) / 1000, r.n);
      return {
        logPx: r.logPx,
        ...(r.logPz ? { logPz: r.logPz } : {}),
        ...(r.logDet ? { logDet: r.logDet } : {}),
        ...(r.logPzLevels ? { logPzLevels: r.logPzLevels } : {}),
      };
    };
    const out: SetEvals = { data, model: one(this.main, "model") };
    if (this.background) out.background = one(this.background, "background");
    if (this.ensemble.length) out.ensemble = [out.model, ...this.ensemble.map((r) => one(r, "ensemble"))];
    const compressors = new Set<Compressor>(this.wanted.flatMap(codecsOf));
    if (compressors.size) {
      out.complexity = {};
      for (const c of compressors) {
        const t0 = performance.now();
        out.complexity[c] = await complexityBitsPerDim(data, c, out.model.logPx.length);
        this.times.add(`codec ${c}`, (performance.now() - t0) / 1000, out.model.logPx.length);
      }
    }
    return out;
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

/**
 * The held-out set a run's detectors are fitted on: --held-out, else the run's validation split. It must
 * share no image with the in-distribution or OOD sets: a detector fitted on its test data measures nothing.
 */
export async function heldOutSpecOf(o: Omit<OodOptions, "in" | "ood">, main: OpenRun, tested: string[]): Promise<string> {
  const spec = o.heldOut ?? main.config.valSplit;
  if (!spec)
    throw new Error(
      `${o.run} has no validation split (it was trained before \`train\` held one out): pass --held-out DATASET:SPLIT with in-distribution images the model never trained on ` +
        `(the run trained on ${main.config.dataset}; e.g. for a run trained on all of fashion-mnist:train, no such images are left, so train it again, which holds out train[-5000:] by default)`,
    );
  const sizes = await splitSizes([spec, ...tested.filter(namesDatasetSplit)], o.data);
  for (const t of tested)
    if (namesDatasetSplit(t) && splitsOverlap(spec, t, sizes))
      throw new Error(
        `the held-out set ${spec} overlaps ${t}, a set being tested: thresholds and fitted statistics must come from other images (the run's validation split is ${main.config.valSplit ?? "not recorded"}); pass another --held-out`,
      );
  return spec;
}

function checkShape(label: string, d: ImageDataset, shape: readonly number[]): void {
  if (d.channels !== shape[0] || d.height !== shape[1] || d.width !== shape[2])
    throw new Error(`${label} has images of ${d.channels}x${d.height}x${d.width}, the model ${shape.join("x")}`);
}

function checkOptions(o: Omit<OodOptions, "in" | "ood">): void {
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1)) throw new RangeError(`limit must be a positive integer, got ${o.limit}`);
  if (o.ensemble) {
    // WAIC's variance needs two members at least: RUN and one more (5 or more recommended).
    if (o.ensemble.length === 0)
      throw new Error("--ensemble: an ensemble of one (RUN alone) has no variance: give at least one more run, 4 or more for M >= 5");
    const all = [o.run, ...o.ensemble].map((d) => resolve(d));
    const twice = all.find((d, i) => all.indexOf(d) !== i);
    if (twice) throw new Error(`--ensemble: ${twice} is listed twice (RUN is the first member already)`);
  }
}

/** Opens the session, runs f, closes it. */
export async function withSession<T>(o: Omit<OodOptions, "in" | "ood">, f: (s: OodSession) => Promise<T>): Promise<T> {
  checkOptions(o);
  const s = new OodSession(o);
  try {
    s.open();
    return await f(s);
  } finally {
    s.close();
  }
}

/** The report of one pair in an open session. */
export async function pairReport(s: OodSession, inSpec: string, oodSpec: string, heldOutSpec: string): Promise<OodReport> {
  const o = s.o,
    main = s.main,
    shape = main.model.imageShape;
  const inData = await loadSplit(inSpec, o.data);
  const heldOutData = await loadSet(heldOutSpec, inData, { data: o.data });
  const oodData = await loadSet(oodSpec, inData, { data: o.data, ...(o.limit ? { n: o.limit } : {}) });
  checkShape(`--held-out ${heldOutSpec}`, heldOutData, shape);
  checkShape(`--in ${inSpec}`, inData, shape);
  checkShape(`--ood ${oodSpec}`, oodData, shape);
  const evals: PerSet<SetEvals> = {
    heldOut: await s.evalSet(`heldOut ${heldOutSpec}`, heldOutData, o.limit ?? HELD_OUT_DEFAULT),
    in: await s.evalSet(`in ${inSpec}`, inData, o.limit),
    ood: await s.evalSet(`ood ${oodSpec} of ${inSpec}`, oodData, o.limit),
  };
  const dims = dimsOf(shape);
  const perSet = <T>(f: (e: SetEvals) => T): PerSet<T> => ({ heldOut: f(evals.heldOut), in: f(evals.in), ood: f(evals.ood) });
  const inputs: ScoreInputs = { data: perSet((e) => e.data), dims, model: perSet((e) => e.model) };
  if (s.background) inputs.background = perSet((e) => e.background!);
  if (s.ensemble.length) inputs.ensemble = evals.heldOut.ensemble!.map((_, k) => perSet((e) => e.ensemble![k]!));
  if (evals.heldOut.complexity) inputs.complexity = perSet((e) => e.complexity!);
  if (s.wanted.includes("typicality")) {
    // Typicality's entropy from training data, its thresholds from the held-out (validation) set.
    const train = await loadSplit(main.config.dataset, o.data);
    inputs.train = (await s.evalSet(`train ${main.config.dataset}`, train, Math.min(ENTROPY_IMAGES, o.limit ?? ENTROPY_IMAGES))).model;
  }
  if (main.model instanceof VAE && s.wanted.includes("likelihood-regret")) {
    const vae = main.model;
    const t0 = performance.now();
    let count = 0;
    const regret = {} as PerSet<Float64Array>;
    for (const set of SET_NAMES) {
      const n = Math.min(evals[set].model.logPx.length, o.regretLimit ?? 200);
      const x = imagesTensor(evals[set].data, n, o.device);
      try {
        regret[set] = likelihoodRegret(vae, x, o.regret);
      } finally {
        x.dispose();
      }
      count += n;
    }
    inputs.regret = regret;
    s.times.add("regret", (performance.now() - t0) / 1000, count);
  }

  const heldOutModel = evals.heldOut.model;
  const report: OodReport = {
    in: inSpec,
    ood: oodSpec,
    heldOut: heldOutSpec,
    run: o.run,
    model: main.config.kind,
    step: main.step,
    n: { heldOut: heldOutModel.logPx.length, in: evals.in.model.logPx.length, ood: evals.ood.model.logPx.length },
    scores: {},
    skipped: {},
    batchScores: {},
    perExample: {},
    heldOutModel: {
      logPx: Array.from(heldOutModel.logPx),
      ...(heldOutModel.logPz ? { logPz: Array.from(heldOutModel.logPz) } : {}),
      ...(heldOutModel.logDet ? { logDet: Array.from(heldOutModel.logDet) } : {}),
    },
  };
  const t = s.times;
  const codecs = (name: ScoreName) => codecsOf(name).reduce((sum, c) => sum + t.perImage(`codec ${c}`), 0);
  const cost = (name: ScoreName) =>
    codecs(name) +
    (name === "likelihood-ratio"
      ? t.perImage("model") + t.perImage("background")
      : name === "waic"
        ? t.perImage("model") + t.perImage("ensemble") * s.ensemble.length
        : name === "likelihood-regret"
          ? t.perImage("regret")
          : t.perImage("model"));
  Object.assign(report, scoreSets(inputs, s.wanted, cost));
  if (report.scores.combined) {
    const { fit, dropped } = combinedFit(inputs);
    report.combined = storeKde(fit, dropped);
  }
  if (s.wanted.includes("typicality")) {
    report.batchScores = typicalityBatches(inputs);
    report.entropy = entropyEstimate((inputs.train ?? inputs.model.heldOut).logPx);
  }

  if (o.write ?? true) {
    mkdirSync(main.folder.oodDir, { recursive: true });
    writeFileAtomic(join(main.folder.oodDir, oodFileName(heldOutSpec, inSpec, oodSpec, o.limit)), JSON.stringify(report) + "\n");
  }
  return report;
}

export async function oodScores(o: OodOptions): Promise<OodReport> {
  if (!namesDatasetSplit(o.in)) throw new Error(`--in ${o.in}: expected DATASET:SPLIT, e.g. fashion-mnist:test`);
  return withSession(o, async (s) => pairReport(s, o.in, o.ood, await heldOutSpecOf(o, s.main, [o.in, o.ood])));
}

/**
 * Every wanted score on the three sets, with its metrics: those that do not apply are skipped with the
 * reason. `secondsPerImage` is the cost of the model passes a score needs (its own work is timed here).
 */
export function scoreSets(
  inputs: ScoreInputs,
  wanted: readonly ScoreName[],
  secondsPerImage: (name: ScoreName) => number,
): Pick<OodReport, "scores" | "skipped" | "perExample"> {
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
    for (const set of SET_NAMES) values[set] = def.compute(inputs, set);
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

/**
 * RUN/ood/<held-out>__<in>__<ood>[_limitN].json: named by all three sets and the image limit, so no result
 * overwrites another's.
 */
export const oodFileName = (heldOutSpec: string, inSpec: string, oodSpec: string, limit?: number) =>
  `${heldOutSpec}__${inSpec}__${oodSpec}${limit !== undefined ? `_limit${limit}` : ""}`.replace(/[^A-Za-z0-9_.-]+/g, "_") + ".json";

/** The typicality test on consecutive batches of 2 to 25 inputs of each set. */
function typicalityBatches(inp: ScoreInputs): Record<string, BatchScoreResult> {
  const h = entropyEstimate((inp.train ?? inp.model.heldOut).logPx);
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
