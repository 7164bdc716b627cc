// A run folder and its files, named in one place:
//   config.json              what was trained (run-config.ts), checked when read
//   checkpoint.safetensors   weights, optimizer, loader and generator state (checkpoint.ts)
//   metrics.jsonl            the training log (metrics.ts)
//   eval/<split>.json        per-example scores, the cache `eval` and the analyses share (score-cache.ts)
//   ood/                     out-of-distribution reports (lib/ood)
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { checkpointStep } from "./checkpoint.js";
import { MetricsLog } from "./metrics.js";
import { MAX_CONFIG_BYTES, parseRunConfig, RunConfigError, validateRunConfig, type RunConfig } from "./run-config.js";
import { removeStaleTemps, writeFileAtomic } from "./run-files.js";
import { ScoreCache } from "./score-cache.js";
import { readTextFile } from "../files.js";

export class RunFolder {
  readonly configPath: string;
  readonly checkpointPath: string;
  readonly metricsPath: string;
  readonly evalDir: string;
  readonly oodDir: string;
  readonly scores: ScoreCache;

  /** `dir` as given is what messages show. */
  constructor(readonly dir: string) {
    this.configPath = join(dir, "config.json");
    this.checkpointPath = join(dir, "checkpoint.safetensors");
    this.metricsPath = join(dir, "metrics.jsonl");
    this.evalDir = join(dir, "eval");
    this.oodDir = join(dir, "ood");
    this.scores = new ScoreCache(this.evalDir);
  }

  /** Whether the folder holds a run (its config.json). */
  exists(): boolean {
    return existsSync(this.configPath);
  }

  /** config.json, checked; a missing or invalid one is an error saying what to do. */
  readConfig(): RunConfig {
    if (!this.exists()) throw new Error(`${this.dir} is not a run folder (no config.json): train one with \`torchts-ood train\``);
    let text: string;
    try {
      text = readTextFile(this.configPath, MAX_CONFIG_BYTES, "config.json");
    } catch (e) {
      throw new RunConfigError(this.configPath, null, (e as Error).message.replace(`${this.configPath}: `, ""));
    }
    return parseRunConfig(text, this.configPath);
  }

  /** Checked first: a config.json is never written that could not be read back. */
  writeConfig(config: RunConfig): void {
    validateRunConfig(config, this.configPath);
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.configPath, JSON.stringify(config, null, 2) + "\n");
  }

  hasCheckpoint(): boolean {
    return existsSync(this.checkpointPath);
  }

  /** The checkpoint's step, 0 when there is none yet. */
  checkpointStep(): number {
    return this.hasCheckpoint() ? checkpointStep(this.checkpointPath) : 0;
  }

  /** For commands that need a trained model. */
  requireCheckpoint(): void {
    if (!this.hasCheckpoint()) throw new Error(`${this.dir} has no checkpoint.safetensors yet`);
  }

  metrics(warn?: (msg: string) => void): MetricsLog {
    return new MetricsLog(this.metricsPath, warn);
  }

  /** Removes what writes a kill interrupted (run-files.ts); returns the names removed. */
  removeStaleTemps(): string[] {
    return existsSync(this.dir) ? removeStaleTemps(this.dir) : [];
  }
}
