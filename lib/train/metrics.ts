// metrics.jsonl: one JSON object a line, appended as training goes; on resume, lines past the resumed
// step are dropped so the file reads as one uninterrupted run.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";

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
  constructor(readonly path: string) {}

  append(line: MetricsLine): void {
    appendFileSync(this.path, JSON.stringify(line) + "\n");
  }

  read(): MetricsLine[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as MetricsLine);
  }

  /** Drops lines after `step` (resume from a checkpoint at that step). */
  truncateAfter(step: number): void {
    const keep = this.read().filter((l) => l.step <= step);
    writeFileSync(this.path, keep.map((l) => JSON.stringify(l) + "\n").join(""));
  }
}
