// Scoring a trained run on named splits: the paper's Figure 1 table, with the per-example values saved
// under DIR/eval/ for the analyses.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type * as torch from "../tensor/index.js";
import type { LoadOptions } from "../data/index.js";
import { evaluate, type EvalResult } from "./evaluate.js";
import { defaultEvalSplits, loadSplit, openRun } from "./run.js";
import { writeFileAtomic } from "./run-files.js";

export interface SplitSummary {
  n: number;
  bitsPerDim: number;
  logPx: number;
  logPz?: number;
  logDet?: number;
}

export interface RunScores {
  model: string;
  step: number;
  splits: Record<string, SplitSummary>;
}

export interface ScoreOptions {
  splits?: string[];
  limit?: number;
  batchSize?: number;
  device?: torch.Device;
  data?: LoadOptions;
  /** Write DIR/eval/<split>.json with per-example values (default true). */
  write?: boolean;
}

export const fileNameOf = (split: string) => split.replace(/[^A-Za-z0-9_.-]+/g, "_") + ".json";

export async function scoreRun(dir: string, o: ScoreOptions = {}): Promise<RunScores> {
  const run = openRun(dir, o.device);
  try {
    // the training split itself, then what training was evaluated on
    const splits = o.splits ?? [run.config.dataset, ...(run.config.evalSplits.length ? run.config.evalSplits : defaultEvalSplits(run.config.dataset))];
    const out: RunScores = { model: run.config.kind, step: run.step, splits: {} };
    for (const s of splits) {
      const ds = await loadSplit(s, o.data);
      const r: EvalResult = evaluate(run.model, ds, { limit: o.limit, batchSize: o.batchSize ?? 256, ...(o.device ? { device: o.device } : {}) });
      assertFinite(dir, run.step, s, r);
      out.splits[s] = { n: r.n, ...r.mean };
      if (o.write ?? true) {
        mkdirSync(join(dir, "eval"), { recursive: true });
        const perExample = Object.fromEntries(
          (["logPx", "logPz", "logDet", "bitsPerDim"] as const).filter((k) => r[k]).map((k) => [k, Array.from(r[k]!)]));
        writeFileAtomic(join(dir, "eval", fileNameOf(s)), JSON.stringify({ model: run.config.kind, step: run.step, split: s, n: r.n, mean: r.mean, ...perExample }));
      }
    }
    return out;
  } finally {
    run.model.dispose();
  }
}

/** A NaN or infinite score is a broken model, not a result: say so rather than print or save it. */
function assertFinite(dir: string, step: number, split: string, r: EvalResult): void {
  const bad = r.logPx.reduce((n, v) => n + (Number.isFinite(v) ? 0 : 1), 0);
  if (!bad) return;
  const first = r.logPx.findIndex((v) => !Number.isFinite(v));
  throw new Error(`${dir} (step ${step}) gives a non-finite log p(x) for ${bad} of ${r.n} images of ${split} ` +
    `(the first is image ${first}: ${r.logPx[first]}), so there is no score to report. The weights are finite, but the model ` +
    "overflows on these images: if training diverged, train it again with a lower --lr.");
}

export function formatScores(s: RunScores): string {
  const rows = Object.entries(s.splits);
  const flow = rows.some(([, v]) => v.logPz !== undefined);
  const head = ["split".padEnd(24), "n".padStart(6), "bits/dim".padStart(9), "log p(x)".padStart(11)]
    .concat(flow ? ["log p(z)".padStart(11), "log-det".padStart(11)] : []).join(" ");
  const f = (v: number | undefined, w: number, d = 1) => (v === undefined ? "" : v.toFixed(d)).padStart(w);
  const lines = rows.map(([k, v]) =>
    [k.padEnd(24), String(v.n).padStart(6), f(v.bitsPerDim, 9, 3), f(v.logPx, 11)].concat(flow ? [f(v.logPz, 11), f(v.logDet, 11)] : []).join(" "));
  return [`${s.model} (step ${s.step}): mean over each split, nats except bits/dim`, head, ...lines].join("\n");
}
