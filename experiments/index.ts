// The analyses of the paper by name: what each shows, which model kinds it needs, and how to run it.
// `runAnalysis` runs one and writes <out>/<name>.json with its figures beside it (SVG, PNG), which
// `buildReport` gathers into one HTML page.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ModelKind } from "../lib/models/density.js";
import { renderSvg } from "../lib/viz/plot.js";
import { type Analysis, type AnalysisConfig, readRunInfo } from "./common.js";
import { bpdTable } from "./bpd-table.js";
import { histograms } from "./histograms.js";
import { logdetSplit } from "./logdet-split.js";
import { FLOW_KINDS, MODEL_KINDS } from "../lib/models/registry.js";
import { datasetStats } from "./dataset-stats.js";
import { graying } from "./graying.js";
import { secondOrder } from "./second-order.js";
import { twoMoonsExperiment } from "./two-moons.js";
import { constantInputs } from "./constant-inputs.js";
import { ensemble } from "./ensemble.js";
import { codeStats } from "./code-stats.js";
import { samples } from "./samples.js";
import { ood } from "./ood.js";

export * from "./common.js";
export { bpdTable, histograms, logdetSplit, datasetStats, graying, secondOrder, twoMoonsExperiment, constantInputs, ensemble, codeStats, samples, ood };

export interface AnalysisEntry {
  /** The paper's figure or section. */
  figure: string;
  describe: string;
  /** Model kinds of which the runs must hold at least one ([]: needs no trained model). */
  needs: readonly ModelKind[];
  /** A smaller default image limit for analyses that score many variants. */
  defaultLimit?: number;
  run: (cfg: AnalysisConfig) => Promise<Analysis<unknown>>;
}

const ANY = MODEL_KINDS;

export const ANALYSES: Record<string, AnalysisEntry> = {
  "bpd-table": { figure: "Figure 1", describe: "bits/dim on train, test and out-of-distribution splits per model", needs: ANY, run: bpdTable },
  histograms: { figure: "Figures 2, 3, 6", describe: "histograms of log p(x) per split (train black, test blue, OOD red)", needs: ANY, run: histograms },
  "logdet-split": {
    figure: "Figure 4",
    describe: "log p(z) and log-det histograms of flows; bits/dim of in/out-of-distribution data over training",
    needs: FLOW_KINDS,
    run: logdetSplit,
  },
  "dataset-stats": { figure: "Figures 5a, 10", describe: "per-dimension means and variances of each data set", needs: [], run: datasetStats },
  graying: { figure: "Figure 5b", describe: "bits/dim as pixels move toward 128 by a factor from 1 to 0", needs: ANY, defaultLimit: 500, run: graying },
  "second-order": {
    figure: "Section 5, Eqs. 5-6",
    describe: "CV-Glow's alpha_c and Eq. 6 prediction vs the measured difference (needs a cv-glow run); Eq. 5's second-order term by Hutchinson for any flow",
    needs: FLOW_KINDS,
    run: secondOrder,
  },
  "two-moons": {
    figure: "Figure 7, appendix D",
    describe: "small flows on two moons replicated to D dims: log p(z) and log-det vs the bounds, exp vs sigmoid scales",
    needs: [],
    run: twoMoonsExperiment,
  },
  "constant-inputs": { figure: "Figure 8", describe: "bits/dim of constant images (0, 128, 255) and uniform noise", needs: ANY, run: constantInputs },
  ensemble: { figure: "Figure 9", describe: "an ensemble of Glows of different seeds: log of the mean likelihood", needs: ["glow"], run: ensemble },
  "code-stats": {
    figure: "Figures 11, 12",
    describe: "means, stds and norms/sqrt(D) of CV-Glow codes per data set, and under graying",
    needs: ["cv-glow", "glow"],
    defaultLimit: 1000,
    run: codeStats,
  },
  samples: { figure: "Figure 13", describe: "sample grids of each model", needs: ANY, run: samples },
  ood: {
    figure: "beyond the paper",
    describe: "OOD scores (likelihood, typicality, input complexity, flow terms, likelihood regret) with AUROC, ROC curves and histograms",
    needs: ANY,
    defaultLimit: 1000,
    run: ood,
  },
};

export const ANALYSIS_NAMES = Object.keys(ANALYSES);

export interface AnalysisFile {
  format: "torchts-ood-analysis/1";
  name: string;
  figure: string;
  describe: string;
  command: string;
  createdAt: string;
  seconds: number;
  runs: { dir: string; kind: string; dataset: string; seed: number }[];
  limit: number | null;
  /** All verdicts match the paper (null: the analysis checks no claim). */
  matchesPaper: boolean | null;
  verdicts: Analysis<unknown>["verdicts"];
  notes: string[];
  tables: Analysis<unknown>["tables"];
  figures: { file: string; title: string; caption: string }[];
  results: unknown;
}

/** Why the runs cannot serve an analysis (one line), or null. */
export function missingKinds(name: string, runs: string[]): string | null {
  const e = ANALYSES[name];
  if (!e) return `unknown analysis '${name}' (see --list)`;
  if (!e.needs.length) return null;
  const kinds = runs.map((r) => readRunInfo(r).kind);
  if (e.needs.some((k) => kinds.includes(k))) return null;
  return `${name} needs a run of kind ${e.needs.join(" or ")}; the given runs are ${kinds.length ? kinds.join(", ") : "none"}`;
}

/** Runs an analysis and writes <out>/<name>.json and its figures. */
export async function runAnalysis(name: string, cfg: AnalysisConfig & { out: string; command?: string } & Record<string, unknown>): Promise<AnalysisFile> {
  const entry = ANALYSES[name];
  if (!entry) throw new Error(`unknown analysis '${name}' (one of: ${ANALYSIS_NAMES.join(", ")})`);
  const miss = missingKinds(name, cfg.runs ?? []);
  if (miss) throw new Error(miss);
  const out = resolve(cfg.out);
  mkdirSync(out, { recursive: true });
  const limit = cfg.limit ?? entry.defaultLimit;
  const t0 = Date.now();
  const a = await entry.run({ ...cfg, ...(limit !== undefined ? { limit } : {}) });
  const figures: AnalysisFile["figures"] = [];
  for (const p of a.plots) {
    const file = p.png ? `${p.name}.png` : `${p.name}.svg`;
    writeFileSync(join(out, file), p.png ?? (await renderSvg(p.spec!)));
    if (p.spec) writeFileSync(join(out, `${p.name}.vl.json`), JSON.stringify(p.spec));
    figures.push({ file, title: p.title, caption: p.caption });
  }
  const file: AnalysisFile = {
    format: "torchts-ood-analysis/1",
    name,
    figure: entry.figure,
    describe: entry.describe,
    command: cfg.command ?? `runAnalysis(${JSON.stringify(name)}, ...)`,
    createdAt: new Date().toISOString(),
    seconds: (Date.now() - t0) / 1000,
    runs: (cfg.runs ?? []).map((r) => {
      const i = readRunInfo(r);
      return { dir: i.dir, kind: i.kind, dataset: i.config.dataset, seed: i.config.seed };
    }),
    limit: limit ?? null,
    matchesPaper: a.verdicts.length ? a.verdicts.every((v) => v.matchesPaper) : null,
    verdicts: a.verdicts,
    notes: a.notes,
    tables: a.tables,
    figures,
    results: a.results,
  };
  writeFileSync(join(out, `${name}.json`), JSON.stringify(file, null, 1) + "\n");
  return file;
}
