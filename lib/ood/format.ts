// The `ood` command's table: one row per score, the worst case readable at a glance.
import type { OodReport } from "./ood-scores.js";

export function formatOodReport(r: OodReport): string {
  const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
  const head = [
    "score".padEnd(24),
    "AUROC".padStart(7),
    "AUPR-in".padStart(8),
    "AUPR-out".padStart(9),
    "FPR95".padStart(7),
    "images/s".padStart(9),
    "threshold".padStart(10),
  ].join(" ");
  const row = (name: string, m: { auroc: number; auprIn: number; auprOut: number; fpr95: number }, rest: string[]) =>
    [name.padEnd(24), f(m.auroc).padStart(7), f(m.auprIn).padStart(8), f(m.auprOut).padStart(9), f(m.fpr95).padStart(7), ...rest].join(" ");
  const lines = [
    `${r.model} run ${r.run}: in ${r.in} (n ${r.n.in}) vs OOD ${r.ood} (n ${r.n.ood}); held-out ${r.heldOut} (n ${r.n.heldOut})`,
    "OOD is the positive class; every score is larger for inputs that look more OOD.",
    head,
    ...Object.entries(r.scores).map(([name, m]) =>
      row(name, m, [f(m.imagesPerSecond, m.imagesPerSecond < 10 ? 2 : 0).padStart(9), f(m.threshold, 4).padStart(10)]),
    ),
  ];
  const batches = Object.entries(r.batchScores);
  if (batches.length) {
    lines.push(
      "",
      "typicality test on batches (Nalisnick et al. 2019): a batch is OOD when | mean NLL - H | > epsilon",
      head.replace("images/s ", "  batches").replace(" threshold", "   epsilon"),
    );
    for (const [name, m] of batches) lines.push(row(name, m, [`${m.batches.in}+${m.batches.ood}`.padStart(9), f(m.epsilon, 2).padStart(10)]));
  }
  for (const [name, why] of Object.entries(r.skipped)) lines.push(`${name}: not computed: ${why}`);
  return lines.join("\n");
}
