// Per-example scores of a run's model, one file a split: RUN/eval/<split>.json. `eval` writes them and
// the analyses (experiments/common.ts scores()) write and read them, so a split is scored once for both.
// Each file records what its numbers depend on (the key) and is read only for that key: scores of an
// older checkpoint, of other images or of other dequantization noise are never taken for current ones.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { EvalResult, PerExample } from "./evaluate.js";
import { writeFileAtomic } from "./run-files.js";
import { MiB, readTextFile } from "../files.js";

/** Scoring's defaults, shared by `eval` and the analyses so that their scores are the same numbers. */
export const SCORE_BATCH_SIZE = 256;
export const DEQUANTIZATION_SEED = 1234;

export interface ScoreKey {
  /** "DATASET:SPLIT", or the name of a data set made in memory (an analysis's graying, constant images). */
  split: string;
  /** The checkpoint's step. */
  step: number;
  /** The first `limit` images were scored; null: all. */
  limit: number | null;
  /** The dequantization noise: its seed, and the batch size, since the loader draws it batch by batch. */
  seed: number;
  batchSize: number;
}

export interface CachedScores extends PerExample {
  n: number;
  mean: EvalResult["mean"];
}

const ARRAYS = ["logPx", "logPz", "logDet", "bitsPerDim"] as const;
const KEY_FIELDS = ["split", "step", "limit", "seed", "batchSize"] as const;

/** The file name of a split's scores: "mnist:test[:5000]" -> "mnist_test_5000_.json". */
export const fileNameOf = (split: string) => split.replace(/[^A-Za-z0-9_.-]+/g, "_") + ".json";

// JSON has no NaN or Infinity (JSON.stringify writes null, read back as 0): written as strings instead.
const encode = (_: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v);
const decode = (a: (number | string)[]) => Float64Array.from(a, Number);

export class ScoreCache {
  constructor(readonly dir: string) {}

  fileOf(split: string): string {
    return join(this.dir, fileNameOf(split));
  }

  /** The scores saved for exactly this key, or null (none, another key, or an unreadable file). */
  read(key: ScoreKey): CachedScores | null {
    const path = this.fileOf(key.split);
    if (!existsSync(path)) return null;
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(readTextFile(path, 1024 * MiB, "the score cache")) as Record<string, unknown>;
    } catch {
      return null; // a damaged cache file is scored again and replaced
    }
    if (KEY_FIELDS.some((k) => j[k] !== key[k]) || !Array.isArray(j.logPx) || j.logPx.length !== j.n) return null;
    const out: CachedScores = { n: j.n as number, mean: j.mean as CachedScores["mean"], logPx: decode(j.logPx), bitsPerDim: decode(j.bitsPerDim as number[]) };
    if (j.logPz) out.logPz = decode(j.logPz as number[]);
    if (j.logDet) out.logDet = decode(j.logDet as number[]);
    return out;
  }

  /** Saves scores under their key, replacing the split's file atomically; `model` is the run's kind, for readers. */
  write(key: ScoreKey, model: string, s: CachedScores): void {
    mkdirSync(this.dir, { recursive: true });
    const perExample = Object.fromEntries(ARRAYS.filter((k) => s[k]).map((k) => [k, Array.from(s[k]!)]));
    writeFileAtomic(this.fileOf(key.split), JSON.stringify({ model, ...key, n: s.n, mean: s.mean, ...perExample }, encode));
  }

  /** Removes every saved score (a new model in the folder). */
  clear(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
