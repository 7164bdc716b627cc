// Figures 11 and 12: statistics of a (CV-)Glow's codes z = f(x) per data set: the mean and standard
// deviation of each image's code, and its norm / sqrt(D) (1 for codes drawn from the standard normal
// prior; smaller means closer to the prior's mode, i.e. a higher log p(z)); and how graying moves them.
import * as torch from "../lib/tensor/index.js";
import { BatchLoader, grayDataset, type ImageDataset } from "../lib/data/index.js";
import { flowOf } from "../lib/models/flows/flow.js";
import { batchTensor } from "../lib/train/evaluate.js";
import { loadSplit, type OpenRun } from "../lib/train/run.js";
import { type Analysis, type AnalysisConfig, emptyAnalysis, mean, round, runsOfKind, shortName, splitsFor, withRuns } from "./common.js";
import { histogramSpec, lineSpec, SPLIT_COLORS } from "../lib/viz/plot.js";
import { DEFAULT_FACTORS } from "./graying.js";

export type CodeStatsConfig = AnalysisConfig & { factors?: number[]; bins?: number };

export interface CodeSummary {
  data: string;
  n: number;
  meanOfMeans: number;
  meanOfStds: number;
  meanNorm: number;
  perExampleNorm: number[];
  perExampleMean: number[];
  perExampleStd: number[];
}
export interface RunCodes {
  run: string;
  kind: string;
  splits: CodeSummary[];
  graying: { split: string; factor: number; meanNorm: number; meanStd: number }[];
}

/** Per-example mean, std and norm / sqrt(D) of the concatenated codes of a flow (a Glow in the paper). */
export function codeStatsOf(run: OpenRun, ds: ImageDataset, limit: number, batchSize = 128): { mean: Float64Array; std: Float64Array; norm: Float64Array } {
  const model = flowOf(run.model);
  const n = Math.min(limit, ds.n);
  const out = { mean: new Float64Array(n), std: new Float64Array(n), norm: new Float64Array(n) };
  const loader = new BatchLoader(ds, { batchSize, shuffle: false, seed: 1234, dequantize: true, prefetch: false });
  let at = 0;
  for (const b of loader) {
    if (at >= n) break;
    const take = Math.min(b.shape[0], n - at);
    torch.tidy(() =>
      torch.noGrad(() => {
        let x = batchTensor(b.x, b.shape, run.config.device);
        if (take < b.shape[0]) x = x.narrow(0, 0, take);
        const z = torch
          .cat(
            model.encode(x).zs.map((t) => t.flatten(1)),
            1,
          )
          .double();
        const d = z.shape[1]!;
        out.mean.set(z.mean(1).data() as Float64Array, at);
        out.std.set(z.std(1).data() as Float64Array, at);
        out.norm.set(z.norm(2, 1).div(Math.sqrt(d)).data() as Float64Array, at);
      }),
    );
    at += take;
  }
  return out;
}

export async function codeStats(cfg: CodeStatsConfig): Promise<Analysis<{ runs: RunCodes[] }>> {
  const factors = cfg.factors ?? DEFAULT_FACTORS;
  let infos = runsOfKind(cfg, ["cv-glow"]);
  const notes: string[] = [];
  if (!infos.length) {
    infos = runsOfKind(cfg, ["glow"]);
    if (infos.length) notes.push("No CV-Glow run was given; the codes are those of a (non-volume-preserving) Glow.");
  }
  const limit = cfg.limit ?? 2000;
  const runs = await withRuns(infos, cfg, async (run, info) => {
    const sp = splitsFor(info.config);
    const splits: CodeSummary[] = [];
    const graying: RunCodes["graying"] = [];
    for (const split of [sp.train, sp.test, sp.ood]) {
      const ds = await loadSplit(split, cfg.data);
      const s = codeStatsOf(run, ds, limit, cfg.batchSize);
      splits.push({
        data: split,
        n: s.norm.length,
        meanOfMeans: mean(s.mean),
        meanOfStds: mean(s.std),
        meanNorm: mean(s.norm),
        perExampleNorm: Array.from(s.norm, (v) => round(v, 4)),
        perExampleMean: Array.from(s.mean, (v) => round(v, 4)),
        perExampleStd: Array.from(s.std, (v) => round(v, 4)),
      });
      if (split === sp.train) continue;
      for (const f of factors) {
        const g = f === 1 ? s : codeStatsOf(run, grayDataset(ds, f), Math.min(limit, 500), cfg.batchSize);
        graying.push({ split, factor: f, meanNorm: mean(g.norm), meanStd: mean(g.std) });
      }
    }
    cfg.log?.(`  codes of ${info.name}: ${splits.map((s) => `${s.data} ${s.meanNorm.toFixed(3)}`).join(", ")}`);
    return { run: info.name, kind: info.kind, splits, graying, sp };
  });
  const a = emptyAnalysis({ runs: runs.map(({ sp: _sp, ...r }) => r) });
  a.notes.push(...notes);
  for (const r of runs) {
    const test = r.splits[1]!,
      ood = r.splits[2]!;
    const ok = ood.meanNorm < test.meanNorm;
    a.verdicts.push({
      claim: `${r.run}: the out-of-distribution codes lie closer to the prior's mode (smaller norm / sqrt(D)) than the test codes`,
      matchesPaper: ok,
      sentence: `${ok ? "" : "Unlike the paper, "}mean norm/sqrt(D): ${shortName(ood.data)} ${ood.meanNorm.toFixed(3)} vs ${shortName(test.data)} ${test.meanNorm.toFixed(3)}.`,
    });
    for (const split of [r.sp.test, r.sp.ood]) {
      const g = r.graying.filter((x) => x.split === split).sort((p, q) => q.factor - p.factor);
      const first = g[0]!,
        last = g[g.length - 1]!;
      const shrink = last.meanNorm < first.meanNorm;
      a.verdicts.push({
        claim: `${r.run} on ${split}: graying moves the codes toward the prior's mode`,
        matchesPaper: shrink,
        sentence: `${shrink ? "" : "Unlike the paper, "}norm/sqrt(D) goes from ${first.meanNorm.toFixed(3)} (factor ${first.factor}) to ${last.meanNorm.toFixed(3)} (factor ${last.factor}).`,
      });
    }
    const colors = [SPLIT_COLORS.train, SPLIT_COLORS.test, SPLIT_COLORS.ood];
    for (const [field, label] of [
      ["perExampleNorm", "norm / sqrt(D)"],
      ["perExampleMean", "mean of z"],
      ["perExampleStd", "std of z"],
    ] as const) {
      a.plots.push({
        name: `code-stats-${field}-${r.run}`,
        title: `Figure 11: ${label} of ${r.run}'s codes`,
        caption: "One value per image; train black, test blue, OOD red.",
        spec: histogramSpec(
          r.splits.map((s, i) => ({ name: s.data, values: s[field], color: colors[i]! })),
          { title: `${r.run}: ${label}`, xTitle: label, bins: cfg.bins ?? 50 },
        ),
      });
    }
    a.plots.push({
      name: `code-stats-graying-${r.run}`,
      title: `Figure 12: graying moves ${r.run}'s codes`,
      caption: "Mean norm / sqrt(D) of the codes per graying factor.",
      spec: lineSpec(
        r.graying.map((g) => ({ series: g.split, x: g.factor, y: g.meanNorm })),
        { title: `${r.run}: codes while graying`, xTitle: "factor (1: the data, 0: all 128)", yTitle: "mean norm / sqrt(D)", reverseX: true },
      ),
    });
  }
  a.tables.push({
    title: "Code statistics per data set (per-image values, averaged)",
    columns: ["run", "data", "n", "mean of z", "std of z", "norm / sqrt(D)"],
    rows: runs.flatMap((r) => r.splits.map((s) => [r.run, s.data, s.n, round(s.meanOfMeans, 4), round(s.meanOfStds, 4), round(s.meanNorm, 4)])),
  });
  return a;
}
