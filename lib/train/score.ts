// Scoring a trained run on named splits: the paper's Figure 1 table, with the per-example values saved
// under DIR/eval/ (score-cache.ts), where the analyses read them, and where a second `eval` finds them.
import type * as torch from "../tensor/index.js";
import type { ImageDataset, LoadOptions } from "../data/index.js";
import { evaluate } from "./evaluate.js";
import { defaultEvalSplits, loadSplit, openRun, type OpenRun } from "./run.js";
import { DEQUANTIZATION_SEED, SCORE_BATCH_SIZE, type CachedScores, type ScoreKey } from "./score-cache.js";

export { fileNameOf } from "./score-cache.js";

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
  /** Read and write DIR/eval/<split>.json with per-example values (default true). */
  write?: boolean;
}

/**
 * Per-example scores of a run's model on a split (or a data set made in memory, named by a unique key): from
 * the run folder's score cache when it holds them for this step, limit and noise, else evaluated and saved
 * there. `eval`, the analyses and `ood` all score through this, so none scores what another already has.
 */
export async function scoresOf(
  run: OpenRun,
  what: string | { key: string; dataset: ImageDataset },
  o: Omit<ScoreOptions, "splits"> & { onUnsaved?: (e: Error) => void } = {},
): Promise<CachedScores & { cached: boolean }> {
  const split = typeof what === "string" ? what : what.key;
  const key: ScoreKey = { split, step: run.step, limit: o.limit ?? null, seed: DEQUANTIZATION_SEED, batchSize: o.batchSize ?? SCORE_BATCH_SIZE };
  const cache = (o.write ?? true) ? run.folder.scores : null;
  const saved = cache?.read(key);
  if (saved) return { ...saved, cached: true };
  const ds = typeof what === "string" ? await loadSplit(what, o.data) : what.dataset;
  const r = evaluate(run.model, ds, { limit: o.limit, batchSize: key.batchSize, seed: key.seed, ...(o.device ? { device: o.device } : {}) });
  try {
    cache?.write(key, run.config.kind, r);
  } catch (e) {
    if (!o.onUnsaved) throw e;
    o.onUnsaved(e as Error);
  }
  return { ...r, cached: false };
}

export async function scoreRun(dir: string, o: ScoreOptions = {}): Promise<RunScores> {
  const run = openRun(dir, o.device);
  try {
    // the training split itself, then what training was evaluated on
    const splits = o.splits ?? [run.config.dataset, ...(run.config.evalSplits.length ? run.config.evalSplits : defaultEvalSplits(run.config.dataset))];
    const out: RunScores = { model: run.config.kind, step: run.step, splits: {} };
    for (const s of splits) {
      const r = await scoresOf(run, s, o);
      // cached ones too: the analyses save scores whatever they are
      assertFinite(dir, run.step, s, r);
      out.splits[s] = { n: r.n, ...r.mean };
    }
    return out;
  } finally {
    run.model.dispose();
  }
}

/** A NaN or infinite score is a broken model, not a result: say so rather than print or save it. */
function assertFinite(dir: string, step: number, split: string, r: CachedScores): void {
  const bad = r.logPx.reduce((n, v) => n + (Number.isFinite(v) ? 0 : 1), 0);
  if (!bad) return;
  const first = r.logPx.findIndex((v) => !Number.isFinite(v));
  throw new Error(
    `${dir} (step ${step}) gives a non-finite log p(x) for ${bad} of ${r.n} images of ${split} ` +
      `(the first is image ${first}: ${r.logPx[first]}), so there is no score to report. The weights are finite, but the model ` +
      "overflows on these images: if training diverged, train it again with a lower --lr.",
  );
}

export function formatScores(s: RunScores): string {
  const rows = Object.entries(s.splits);
  const flow = rows.some(([, v]) => v.logPz !== undefined);
  const head = ["split".padEnd(24), "n".padStart(6), "bits/dim".padStart(9), "log p(x)".padStart(11)]
    .concat(flow ? ["log p(z)".padStart(11), "log-det".padStart(11)] : [])
    .join(" ");
  const f = (v: number | undefined, w: number, d = 1) => (v === undefined ? "" : v.toFixed(d)).padStart(w);
  const lines = rows.map(([k, v]) =>
    [k.padEnd(24), String(v.n).padStart(6), f(v.bitsPerDim, 9, 3), f(v.logPx, 11)].concat(flow ? [f(v.logPz, 11), f(v.logDet, 11)] : []).join(" "),
  );
  return [`${s.model} (step ${s.step}): mean over each split, nats except bits/dim`, head, ...lines].join("\n");
}
