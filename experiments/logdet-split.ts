// Figure 4: a flow's log p(x) split into log p(z) and the log-det (the volume term), per split; and
// bits/dim of the in- and out-of-distribution test data over training (metrics.jsonl), with whether the
// two curves ever cross.
import { type Analysis, type AnalysisConfig, emptyAnalysis, mean, round, runsOfKind, scores, shortName, splitsFor, withRuns } from "./common.js";
import type { EvalMetrics } from "../lib/train/metrics.js";
import { histogramSpec, lineSpec, SPLIT_COLORS } from "../lib/viz/plot.js";
import { FLOW_KINDS } from "../lib/models/registry.js";

export type LogdetSplitConfig = AnalysisConfig & { bins?: number };

export interface TermStats {
  split: string;
  n: number;
  meanLogPz: number;
  meanLogDet: number;
  logPz: number[];
  logDet: number[];
}
export interface Curve {
  step: number;
  test: number;
  ood: number;
}
export interface RunLogdet {
  run: string;
  kind: string;
  step: number;
  train: TermStats;
  test: TermStats;
  ood: TermStats;
  /** bits/dim over training from metrics.jsonl eval lines. */
  curve: Curve[];
  /** Steps between which OOD - test changed sign (none: the curves never cross). */
  crossings: number[];
}

/** Steps at which the sign of (ood - test) differs from the previous eval's. */
export function crossingsOf(curve: Curve[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < curve.length; i++)
    if (Math.sign(curve[i]!.ood - curve[i]!.test) !== Math.sign(curve[i - 1]!.ood - curve[i - 1]!.test)) out.push(curve[i]!.step);
  return out;
}

export async function logdetSplit(cfg: LogdetSplitConfig): Promise<Analysis<{ runs: RunLogdet[] }>> {
  const runs = await withRuns(runsOfKind(cfg, FLOW_KINDS), cfg, async (run, info) => {
    const sp = splitsFor(info.config);
    const r = { run: info.name, kind: info.kind, step: run.step } as RunLogdet;
    for (const part of ["train", "test", "ood"] as const) {
      const s = await scores(run, sp[part], cfg);
      r[part] = {
        split: sp[part],
        n: s.n,
        meanLogPz: mean(s.logPz!),
        meanLogDet: mean(s.logDet!),
        logPz: Array.from(s.logPz!, (v) => round(v, 2)),
        logDet: Array.from(s.logDet!, (v) => round(v, 2)),
      };
    }
    const lines = run.folder
      .metrics()
      .read()
      .filter((l): l is EvalMetrics => "eval" in l);
    r.curve = lines
      .filter((l) => l.eval[sp.test] !== undefined && l.eval[sp.ood] !== undefined)
      .map((l) => ({ step: l.step, test: l.eval[sp.test]!, ood: l.eval[sp.ood]! }));
    r.crossings = crossingsOf(r.curve);
    return r;
  });
  const a = emptyAnalysis({ runs });
  for (const r of runs) {
    const dz = r.ood.meanLogPz - r.test.meanLogPz,
      dd = r.ood.meanLogDet - r.test.meanLogDet;
    a.notes.push(
      `${r.run}: OOD minus test, mean log p(z) ${dz >= 0 ? "+" : ""}${dz.toFixed(1)} nats and mean log-det ${dd >= 0 ? "+" : ""}${dd.toFixed(1)} nats` +
        (r.kind === "cv-glow" ? " (CV-Glow: the log-det is the same for every input, so the whole gap is in log p(z))." : "."),
    );
    if (r.curve.length) {
      const last = r.curve[r.curve.length - 1]!;
      const ok = r.crossings.length === 0 && last.ood < last.test;
      a.verdicts.push({
        claim: `${r.run}: over training, the OOD data's bits/dim stays below the test data's (the curves never cross)`,
        matchesPaper: ok,
        sentence: ok
          ? `At all ${r.curve.length} evaluations (steps ${r.curve[0]!.step}-${last.step}) ${shortName(r.ood.split)} had fewer bits/dim than ${shortName(r.test.split)}; the curves never cross, as in the paper's Figure 4c.`
          : r.crossings.length
            ? `Unlike the paper, the curves cross (sign changes at step(s) ${r.crossings.join(", ")}).`
            : `Unlike the paper, ${shortName(r.ood.split)} stays above ${shortName(r.test.split)} in bits/dim throughout training.`,
      });
      a.plots.push({
        name: `logdet-split-curve-${r.run}`,
        title: `${r.run}: bits/dim over training`,
        caption: "From the eval lines of metrics.jsonl (their own image limit).",
        spec: lineSpec(
          r.curve.flatMap((c) => [
            { series: `${r.test.split} (test)`, x: c.step, y: c.test },
            { series: `${r.ood.split} (OOD)`, x: c.step, y: c.ood },
          ]),
          {
            title: `${r.run}: bits/dim during training`,
            xTitle: "training step",
            yTitle: "bits/dim",
            colors: { [`${r.test.split} (test)`]: SPLIT_COLORS.test, [`${r.ood.split} (OOD)`]: SPLIT_COLORS.ood },
          },
        ),
      });
    } else {
      a.notes.push(`${r.run}: metrics.jsonl has no evaluations of both ${r.test.split} and ${r.ood.split}; no training curve.`);
    }
    for (const term of ["logPz", "logDet"] as const) {
      a.plots.push({
        name: `logdet-split-${term}-${r.run}`,
        title: `${r.run}: ${term === "logPz" ? "log p(z)" : "log-det"}`,
        caption: term === "logDet" && r.kind === "cv-glow" ? "CV-Glow: one value for every input." : "Train black, test blue, OOD red.",
        spec: histogramSpec(
          [
            { name: `${r.train.split} (train)`, values: r.train[term], color: SPLIT_COLORS.train },
            { name: `${r.test.split} (test)`, values: r.test[term], color: SPLIT_COLORS.test },
            { name: `${r.ood.split} (OOD)`, values: r.ood[term], color: SPLIT_COLORS.ood },
          ],
          {
            title: `${r.run} (${r.kind}): ${term === "logPz" ? "log p(z)" : "log |det J|"}`,
            xTitle: term === "logPz" ? "log p(z) (nats)" : "log-det (nats)",
            bins: cfg.bins ?? 50,
          },
        ),
      });
    }
  }
  a.tables.push({
    title: "Mean log p(z) and log-det (nats) per split",
    columns: ["run", "model", "split", "log p(z)", "log-det", "log p(x) + D log 256"],
    rows: runs.flatMap((r) =>
      [r.train, r.test, r.ood].map((s) => [r.run, r.kind, s.split, round(s.meanLogPz, 1), round(s.meanLogDet, 1), round(s.meanLogPz + s.meanLogDet, 1)]),
    ),
  });
  return a;
}
