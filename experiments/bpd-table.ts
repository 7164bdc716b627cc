// Figure 1: bits/dim of each trained model on its training data, its test data and the other data set.
import { type Analysis, type AnalysisConfig, emptyAnalysis, mean, round, runsOf, scores, shortName, splitsFor, withRuns } from "./common.js";
import { groupedBarSpec, SPLIT_COLORS } from "../lib/viz/plot.js";

export type BpdTableConfig = AnalysisConfig;

export interface BpdRow {
  run: string;
  kind: string;
  step: number;
  train: { split: string; n: number; bitsPerDim: number };
  test: { split: string; n: number; bitsPerDim: number };
  ood: { split: string; n: number; bitsPerDim: number };
}

export async function bpdTable(cfg: BpdTableConfig): Promise<Analysis<{ rows: BpdRow[] }>> {
  const rows = await withRuns(runsOf(cfg), cfg, async (run, info) => {
    const sp = splitsFor(info.config);
    const row = { run: info.name, kind: info.kind, step: run.step } as BpdRow;
    for (const part of ["train", "test", "ood"] as const) {
      const s = await scores(run, sp[part], cfg);
      row[part] = { split: sp[part], n: s.n, bitsPerDim: mean(s.bitsPerDim) };
    }
    return { row, note: sp.note };
  });
  const a = emptyAnalysis({ rows: rows.map((r) => r.row) });
  for (const { row, note } of rows) {
    if (note) a.notes.push(`${row.run}: ${note}`);
    const ok = row.ood.bitsPerDim < row.test.bitsPerDim;
    a.verdicts.push({
      claim: `${row.run} (${row.kind}): the out-of-distribution split gets fewer bits/dim (a higher likelihood) than the test split`,
      matchesPaper: ok,
      sentence: ok
        ? `${shortName(row.ood.split)} ${row.ood.bitsPerDim.toFixed(3)} < ${shortName(row.test.split)} ${row.test.bitsPerDim.toFixed(3)} bits/dim, as in the paper's Figure 1.`
        : `Unlike the paper, ${shortName(row.ood.split)} gets ${row.ood.bitsPerDim.toFixed(3)} bits/dim, not below ${shortName(row.test.split)}'s ${row.test.bitsPerDim.toFixed(3)}.`,
    });
  }
  a.tables.push({
    title: "Bits/dim (lower is a higher likelihood); n images per split",
    columns: ["run", "model", "step", "train split", "train", "test split", "test", "OOD split", "OOD", "n"],
    rows: a.results.rows.map((r) => [
      r.run,
      r.kind,
      r.step,
      r.train.split,
      round(r.train.bitsPerDim),
      r.test.split,
      round(r.test.bitsPerDim),
      r.ood.split,
      round(r.ood.bitsPerDim),
      r.test.n,
    ]),
  });
  a.plots.push({
    name: "bpd-table",
    title: "Figure 1: bits/dim per model and split",
    caption: "Black: training data, blue: test data, red: the other data set's test split.",
    spec: groupedBarSpec(
      a.results.rows.flatMap((r) => [
        { group: r.run, series: "train", value: r.train.bitsPerDim },
        { group: r.run, series: "test", value: r.test.bitsPerDim },
        { group: r.run, series: "OOD", value: r.ood.bitsPerDim },
      ]),
      { title: "bits/dim", yTitle: "bits/dim", colors: { train: SPLIT_COLORS.train, test: SPLIT_COLORS.test, OOD: SPLIT_COLORS.ood } },
    ),
  });
  return a;
}
