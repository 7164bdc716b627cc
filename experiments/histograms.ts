// Figures 2, 3 and 6: histograms of log p(x) on the training data (black), test data (blue) and the
// other data set (red), one figure per model. A run trained on MNIST (mnist:test[:5000] here) gives the
// paper's asymmetric direction.
import { type Analysis, type AnalysisConfig, emptyAnalysis, mean, runsOf, scores, shortName, splitsFor, std, withRuns, round } from "./common.js";
import { histogramSpec, SPLIT_COLORS } from "../lib/viz/plot.js";

export type HistogramsConfig = AnalysisConfig & { bins?: number };

export interface SplitLogPx {
  split: string;
  n: number;
  meanLogPx: number;
  stdLogPx: number;
  /** Per-example log p(x), nats. */
  logPx: number[];
}

export interface RunHistograms {
  run: string;
  kind: string;
  step: number;
  train: SplitLogPx;
  test: SplitLogPx;
  ood: SplitLogPx;
}

export async function histograms(cfg: HistogramsConfig): Promise<Analysis<{ runs: RunHistograms[] }>> {
  const notes: string[] = [];
  const runs = await withRuns(runsOf(cfg), cfg, async (run, info) => {
    const sp = splitsFor(info.config);
    if (sp.note) notes.push(`${info.name}: ${sp.note}`);
    const r = { run: info.name, kind: info.kind, step: run.step } as RunHistograms;
    for (const part of ["train", "test", "ood"] as const) {
      const s = await scores(run, sp[part], cfg);
      r[part] = { split: sp[part], n: s.n, meanLogPx: mean(s.logPx), stdLogPx: std(s.logPx), logPx: Array.from(s.logPx, (v) => round(v, 2)) };
    }
    return r;
  });
  const a = emptyAnalysis({ runs });
  a.notes.push(...notes);
  for (const r of runs) {
    // The paper's phenomenon is asymmetric: trained on FashionMNIST, MNIST scores higher; trained on MNIST,
    // FashionMNIST scores lower (its Figure 2 vs Figure 6).
    const expectHigher = !r.train.split.startsWith("mnist");
    const higher = r.ood.meanLogPx > r.test.meanLogPx;
    const ok = higher === expectHigher;
    const rel = higher ? ">" : "<";
    a.verdicts.push({
      claim: expectHigher
        ? `${r.run} (${r.kind}): the out-of-distribution data's log p(x) histogram lies to the right of the test data's`
        : `${r.run} (${r.kind}), trained on MNIST: the out-of-distribution data's log p(x) lies to the left of the test data's (the asymmetric direction)`,
      matchesPaper: ok,
      sentence: `${ok ? "" : "Unlike the paper, "}mean log p(x): ${shortName(r.ood.split)} ${r.ood.meanLogPx.toFixed(1)} ${rel} ${shortName(r.test.split)} ${r.test.meanLogPx.toFixed(1)} nats${ok ? ", as in the paper" : ""}.`,
    });
    a.plots.push({
      name: `histograms-${r.run}`,
      title: `log p(x) of ${r.run} (${r.kind}, trained on ${r.train.split})`,
      caption: `Train black, test blue, OOD red; ${r.test.n} images per split.`,
      spec: histogramSpec(
        [
          { name: `${r.train.split} (train)`, values: r.train.logPx, color: SPLIT_COLORS.train },
          { name: `${r.test.split} (test)`, values: r.test.logPx, color: SPLIT_COLORS.test },
          { name: `${r.ood.split} (OOD)`, values: r.ood.logPx, color: SPLIT_COLORS.ood },
        ],
        { title: `${r.run}: log p(x)`, xTitle: "log p(x) (nats)", bins: cfg.bins ?? 50 },
      ),
    });
  }
  if (!runs.some((r) => r.train.split.startsWith("mnist"))) {
    a.notes.push("The asymmetric direction (trained on MNIST, tested on FashionMNIST) needs a run trained on MNIST; none was given.");
  }
  a.tables.push({
    title: "Mean (std) log p(x), nats",
    columns: ["run", "model", "train", "test", "OOD"],
    rows: runs.map((r) => [r.run, r.kind, ...[r.train, r.test, r.ood].map((s) => `${s.meanLogPx.toFixed(1)} (${s.stdLogPx.toFixed(1)})`)]),
  });
  return a;
}
