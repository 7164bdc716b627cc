// Beyond the paper: the OOD scores of lib/ood on each run's test split against the paper's OOD split,
// with ROC curves and score histograms. The likelihood fails (AUROC below 0.5 where the OOD data are
// simpler); the scores built to fix it are measured beside it. Background models and ensembles come
// through `torchts-ood ood`; this analysis uses what one run gives alone.
import { oodScores, type OodReport } from "../lib/ood/ood-scores.js";
import { rocCurve } from "../lib/ood/metrics.js";
import { histogramSpec, lineSpec, SPLIT_COLORS } from "../lib/viz/plot.js";
import { type Analysis, type AnalysisConfig, emptyAnalysis, round, runsOf, shortName, splitsFor } from "./common.js";

export interface RunOod {
  run: string;
  kind: string;
  report: Omit<OodReport, "perExample">;
}

export async function ood(cfg: AnalysisConfig): Promise<Analysis<{ runs: RunOod[] }>> {
  const runs: RunOod[] = [];
  const a = emptyAnalysis({ runs });
  for (const info of runsOf(cfg)) {
    const sp = splitsFor(info.config);
    cfg.log?.(`ood: ${info.name}: ${sp.test} vs ${sp.ood}`);
    const { perExample, ...report } = await oodScores({
      run: info.dir,
      in: sp.test,
      ood: sp.ood,
      ...(cfg.limit ? { limit: cfg.limit } : {}),
      regretLimit: 100,
      ...(cfg.data ? { data: cfg.data } : {}),
      ...(cfg.device ? { device: cfg.device } : {}),
      ...(cfg.batchSize ? { batchSize: cfg.batchSize } : {}),
    });
    runs.push({ run: info.name, kind: info.kind, report });
    const names = Object.keys(report.scores) as (keyof typeof report.scores)[];
    a.tables.push({
      title: `${info.name} (${info.kind}): ${shortName(sp.test)} (in) vs ${shortName(sp.ood)} (OOD, positive), n ${report.n.in} + ${report.n.ood}`,
      columns: ["score", "AUROC", "AUPR-in", "AUPR-out", "FPR95", "images/s"],
      rows: names.map((n) => {
        const m = report.scores[n]!;
        return [n, round(m.auroc), round(m.auprIn), round(m.auprOut), round(m.fpr95), round(m.imagesPerSecond, 0)];
      }),
    });
    const ll = report.scores["log-likelihood"];
    if (ll) {
      a.verdicts.push({
        claim: `${info.name}: the likelihood alone does not detect ${shortName(sp.ood)} as OOD (AUROC < 0.5 when the OOD data get the higher likelihood)`,
        matchesPaper: ll.auroc < 0.5,
        sentence: `The log-likelihood's AUROC is ${ll.auroc.toFixed(3)}${ll.auroc < 0.5 ? ": worse than chance, as the paper's finding implies" : ", unlike the paper's finding"}.`,
      });
    }
    const best = names.reduce((b, n) => (report.scores[n]!.auroc > report.scores[b]!.auroc ? n : b), names[0]!);
    a.notes.push(`${info.name}: the best score is ${best} (AUROC ${report.scores[best]!.auroc.toFixed(3)}).`);
    const roc = names.flatMap((n) => {
      const c = rocCurve(perExample[n]!.in, perExample[n]!.ood);
      const step = Math.max(1, Math.floor(c.fpr.length / 200)); // a few hundred points draw the same curve
      return c.fpr.flatMap((x, i) => (i % step === 0 || i === c.fpr.length - 1 ? [{ series: n, x, y: c.tpr[i]! }] : []));
    });
    a.plots.push({
      name: `ood-roc-${info.name}`,
      title: `ROC curves: ${info.name}`,
      caption: `True positive rate (OOD flagged) against false positive rate (${shortName(sp.test)} flagged), every score.`,
      spec: lineSpec(roc, {
        title: `${info.name}: ${shortName(sp.test)} vs ${shortName(sp.ood)}`,
        xTitle: "false positive rate",
        yTitle: "true positive rate",
        width: 320,
        height: 320,
      }),
    });
    for (const n of names) {
      a.plots.push({
        name: `ood-hist-${info.name}-${n}`,
        title: `${n}: ${info.name}`,
        caption: `The ${n} score of ${shortName(sp.test)} (blue) and ${shortName(sp.ood)} (red); larger means more OOD.`,
        spec: histogramSpec(
          [
            { name: shortName(sp.test), values: perExample[n]!.in, color: SPLIT_COLORS.test },
            { name: shortName(sp.ood), values: perExample[n]!.ood, color: SPLIT_COLORS.ood },
          ],
          { title: `${info.name}: ${n}`, xTitle: `${n} score`, width: 320, height: 200 },
        ),
      });
    }
  }
  return a;
}
