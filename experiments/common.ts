// What every analysis shares: its config and output types, run folders and the paper's splits for each,
// and cached per-example scores (several analyses score the same model on the same split, and `eval`
// may have scored it already: the cache is the run folder's, RUN/eval/).
import { basename, resolve } from "node:path";
import { paperSplits, type ImageDataset, type LoadOptions, type PaperSplits } from "../lib/data/index.js";
import type { ModelKind } from "../lib/models/density.js";
import type { PerExample } from "../lib/train/evaluate.js";
import { openRun, type OpenRun, type RunConfig } from "../lib/train/run.js";
import { RunFolder } from "../lib/train/run-folder.js";
import { SCORE_BATCH_SIZE } from "../lib/train/score-cache.js";
import { scoresOf } from "../lib/train/score.js";
import type * as torch from "../lib/tensor/index.js";
import type { VegaLiteSpec } from "../lib/viz/plot.js";

/** The config every analysis takes (each adds its own fields). */
export interface AnalysisConfig {
  /** Run folders (config.json + checkpoint.safetensors). */
  runs?: string[];
  /** Images scored per split (default 2000). */
  limit?: number;
  data?: LoadOptions;
  batchSize?: number;
  device?: torch.Device;
  /** false: per-example scores are kept in memory only, nothing is written to the runs' eval/ folders. */
  cacheScores?: boolean;
  /** Progress lines on stderr. */
  log?: (line: string) => void;
}

/** A claim of the paper checked on our runs. */
export interface Verdict {
  claim: string;
  matchesPaper: boolean;
  /** What we measured, in one sentence; says so plainly where it differs from the paper. */
  sentence: string;
}

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
}

/** A figure before rendering: a Vega-Lite spec, or a PNG (sample grids). */
export interface Plot {
  /** File name stem, e.g. "histograms-glow". */
  name: string;
  title: string;
  caption: string;
  spec?: VegaLiteSpec;
  png?: Buffer;
}

/** What an experiment function returns: typed results plus what the report shows. */
export interface Analysis<T> {
  results: T;
  verdicts: Verdict[];
  notes: string[];
  tables: Table[];
  plots: Plot[];
}

export interface RunInfo {
  dir: string;
  /** Folder name, used as the run's label. */
  name: string;
  kind: ModelKind;
  config: RunConfig;
}

export function readRunInfo(dir: string): RunInfo {
  const folder = new RunFolder(dir);
  const config = folder.readConfig();
  folder.requireCheckpoint();
  return { dir: resolve(dir), name: basename(resolve(dir)), kind: config.kind, config };
}

export const runsOf = (cfg: AnalysisConfig): RunInfo[] => (cfg.runs ?? []).map(readRunInfo);
export const runsOfKind = (cfg: AnalysisConfig, kinds: readonly ModelKind[]): RunInfo[] => runsOf(cfg).filter((r) => kinds.includes(r.kind));

/** The paper's three splits for a run: its training data, its test data, and its OOD partner's test (the catalog's). */
export type RunSplits = Required<Pick<PaperSplits, "train" | "test" | "ood">> & Pick<PaperSplits, "note">;

export function splitsFor(config: RunConfig): RunSplits {
  const s = paperSplits(config.dataset);
  // A data set the paper pairs with none is compared with its own test split.
  return { ...s, ood: s.ood ?? s.test };
}

export const shortName = (split: string) => split.replace(/:test$/, "").replace(/:train$/, " (train)");

const memoryCache = new Map<string, PerExample & { n: number }>();

export type Scores = PerExample & { n: number };

/**
 * Per-example scores of a run's model on a split (or a data set made in memory, with a unique cache key),
 * from the run folder's score cache (score-cache.ts) when it holds them for this step, limit and noise.
 */
export async function scores(
  run: OpenRun,
  what: string | { key: string; dataset: ImageDataset },
  cfg: AnalysisConfig,
  limit = cfg.limit ?? 2000,
): Promise<Scores> {
  const batchSize = cfg.batchSize ?? SCORE_BATCH_SIZE;
  const id = `${resolve(run.dir)}|${JSON.stringify({ split: typeof what === "string" ? what : what.key, step: run.step, limit, batchSize })}`;
  const hit = memoryCache.get(id);
  if (hit) return hit;
  const t0 = Date.now();
  const r = await scoresOf(run, what, {
    limit,
    batchSize,
    ...(cfg.data ? { data: cfg.data } : {}),
    ...(cfg.device ? { device: cfg.device } : {}),
    write: cfg.cacheScores !== false,
    // A run folder the analyses may only read (another user's runs): the scores stay in memory.
    onUnsaved: (e) => cfg.log?.(`  not saving scores in ${run.folder.evalDir}: ${e.message}`),
  });
  if (!r.cached) {
    const split = typeof what === "string" ? what : what.key;
    cfg.log?.(
      `  scored ${basename(run.dir)} on ${split}: ${r.n} images, ${r.mean.bitsPerDim.toFixed(3)} bits/dim (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  const s: Scores = { n: r.n, logPx: r.logPx, bitsPerDim: r.bitsPerDim, ...(r.logPz ? { logPz: r.logPz } : {}), ...(r.logDet ? { logDet: r.logDet } : {}) };
  memoryCache.set(id, s);
  return s;
}

/** Opens each run in turn, runs fn, disposes the model. */
export async function withRuns<T>(runs: RunInfo[], cfg: AnalysisConfig, fn: (run: OpenRun, info: RunInfo) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const info of runs) {
    const run = openRun(info.dir, cfg.device);
    try {
      out.push(await fn(run, info));
    } finally {
      run.model.dispose();
    }
  }
  return out;
}

export const mean = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return a.length ? s / a.length : NaN;
};
export const std = (a: ArrayLike<number>): number => {
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - m) ** 2;
  return a.length > 1 ? Math.sqrt(s / (a.length - 1)) : 0;
};
export const round = (v: number, d = 3): number => (Number.isFinite(v) ? Number(v.toFixed(d)) : v);

export function emptyAnalysis<T>(results: T): Analysis<T> {
  return { results, verdicts: [], notes: [], tables: [], plots: [] };
}
