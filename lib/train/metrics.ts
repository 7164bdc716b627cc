// metrics.jsonl: one JSON object a line, appended as training goes; on resume, lines past the resumed
// step are dropped so the file reads as one uninterrupted run. Appends are not atomic (a kill can cut the
// last line), rewrites are.
import { appendFileSync, existsSync } from "node:fs";
import { writeFileAtomic } from "./run-files.js";
import { MiB, readTextFile } from "../files.js";

export interface StepMetrics {
  step: number;
  /** Training loss, bits/dim (mean over the batch). */
  loss: number;
  lr: number;
  gradNorm: number;
  imagesPerSec: number;
  /** Seconds since the (first) start of the run. */
  wallTime: number;
}

export interface EvalMetrics {
  step: number;
  /** bits/dim per split. */
  eval: Record<string, number>;
  wallTime: number;
}

export type MetricsLine = StepMetrics | EvalMetrics;

export class MetricsLog {
  /** warn: where a skipped cut-off last line is reported (stderr by default, even with --quiet). */
  constructor(
    readonly path: string,
    private readonly warn: (msg: string) => void = (m) => void process.stderr.write(`warning: ${m}\n`),
  ) {}

  append(line: MetricsLine): void {
    appendFileSync(this.path, JSON.stringify(line) + "\n");
  }

  /**
   * The lines so far. A kill during an append leaves the last line cut off: it is skipped with a warning.
   * Any other bad line means the file was edited or damaged: an error naming the file and the line.
   */
  read(): MetricsLine[] {
    if (!existsSync(this.path)) return [];
    const lines = readTextFile(this.path, 1024 * MiB, "the training log").split("\n");
    let lastNonEmpty = lines.length - 1;
    while (lastNonEmpty >= 0 && !lines[lastNonEmpty]!.trim()) lastNonEmpty--;
    const out: MetricsLine[] = [];
    for (let i = 0; i <= lastNonEmpty; i++) {
      if (!lines[i]!.trim()) continue;
      let v: unknown;
      try {
        v = JSON.parse(lines[i]!);
      } catch (e) {
        if (i === lastNonEmpty) {
          this.warn(`${this.path}: line ${i + 1} is cut off (a write was interrupted); it is skipped`);
          break;
        }
        throw new Error(`${this.path}: line ${i + 1} is not valid JSON (${(e as Error).message}): fix or delete that line, then run again`);
      }
      if (typeof (v as { step?: unknown } | null)?.step !== "number")
        throw new Error(`${this.path}: line ${i + 1} is not a metrics record (it has no step): fix or delete that line, then run again`);
      out.push(v as MetricsLine);
    }
    return out;
  }

  /** Drops lines after `step` (resume from a checkpoint at that step), replacing the file atomically; returns the lines kept. */
  truncateAfter(step: number): MetricsLine[] {
    const keep = this.read().filter((l) => l.step <= step);
    writeFileAtomic(this.path, keep.map((l) => JSON.stringify(l) + "\n").join(""));
    return keep;
  }
}
