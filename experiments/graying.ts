// Figure 5b: graying. Pixels move toward 128 by a factor from 1 (the data) to 0 (all 128); the paper
// finds the likelihood rises (bits/dim fall) as the images lose contrast.
import { grayDataset } from "../lib/data/index.js";
import { loadSplit } from "../lib/train/run.js";
import { type Analysis, type AnalysisConfig, emptyAnalysis, mean, runsOf, scores, splitsFor, withRuns } from "./common.js";
import { lineSpec } from "../lib/viz/plot.js";

export type GrayingConfig = AnalysisConfig & { factors?: number[] };

export interface GrayPoint {
  factor: number;
  bitsPerDim: number;
  n: number;
}
export interface GrayCurve {
  run: string;
  kind: string;
  split: string;
  points: GrayPoint[];
}

export const DEFAULT_FACTORS = [1, 0.8, 0.6, 0.4, 0.2, 0];

export async function graying(cfg: GrayingConfig): Promise<Analysis<{ factors: number[]; curves: GrayCurve[] }>> {
  const factors = cfg.factors ?? DEFAULT_FACTORS;
  const curves = (
    await withRuns(runsOf(cfg), cfg, async (run, info) => {
      const sp = splitsFor(info.config);
      const out: GrayCurve[] = [];
      for (const split of [sp.test, sp.ood]) {
        const ds = await loadSplit(split, cfg.data);
        const points: GrayPoint[] = [];
        for (const f of factors) {
          const s = await scores(run, f === 1 ? split : { key: `${split}-gray${f}`, dataset: grayDataset(ds, f) }, cfg);
          points.push({ factor: f, bitsPerDim: mean(s.bitsPerDim), n: s.n });
        }
        out.push({ run: info.name, kind: info.kind, split, points });
      }
      return out;
    })
  ).flat();
  const a = emptyAnalysis({ factors, curves });
  for (const c of curves) {
    const byF = [...c.points].sort((p, q) => q.factor - p.factor);
    const first = byF[0]!,
      last = byF[byF.length - 1]!;
    let falls = 0;
    for (let i = 1; i < byF.length; i++) if (byF[i]!.bitsPerDim < byF[i - 1]!.bitsPerDim) falls++;
    const ok = last.bitsPerDim < first.bitsPerDim;
    a.verdicts.push({
      claim: `${c.run} on ${c.split}: graying raises the likelihood`,
      matchesPaper: ok,
      sentence:
        (ok ? "" : "Unlike the paper, ") +
        `bits/dim go from ${first.bitsPerDim.toFixed(3)} at factor ${first.factor} to ${last.bitsPerDim.toFixed(3)} at factor ${last.factor}; ${falls} of ${byF.length - 1} steps toward gray lower them.`,
    });
  }
  const runsSeen = [...new Set(curves.map((c) => c.run))];
  for (const r of runsSeen) {
    a.plots.push({
      name: `graying-${r}`,
      title: `Figure 5b: graying, ${r}`,
      caption: "x' = 128 + factor (x - 128), rounded to integer pixels, then dequantized as usual.",
      spec: lineSpec(
        curves.filter((c) => c.run === r).flatMap((c) => c.points.map((p) => ({ series: c.split, x: p.factor, y: p.bitsPerDim }))),
        { title: `${r}: bits/dim while graying`, xTitle: "factor (1: the data, 0: all pixels 128)", yTitle: "bits/dim", reverseX: true },
      ),
    });
  }
  a.tables.push({
    title: "Bits/dim per graying factor",
    columns: ["run", "split", ...factors.map((f) => `factor ${f}`)],
    rows: curves.map((c) => [c.run, c.split, ...factors.map((f) => Number(c.points.find((p) => p.factor === f)!.bitsPerDim.toFixed(3)))]),
  });
  return a;
}
