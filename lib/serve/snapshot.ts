// What a pool serves: the run's config and checkpoint bytes, read once when the pool starts. Every worker,
// a replacement included, loads these bytes and never the file, so the model answering is always the one
// /healthz announces (by step and sha256), whatever has been written into the run folder since. A new
// checkpoint is served only by a deliberate reload, which starts a new pool (server.ts).
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { RunFolder } from "../train/run-folder.js";
import type { RunConfig } from "../train/run-config.js";

export interface RunSnapshot {
  config: RunConfig;
  /** The checkpoint file's bytes, in shared memory so worker threads read them without a copy each. */
  checkpoint: Uint8Array;
  sha256: string;
  /** The file's modification time when read (thresholds older than it belong to another model). */
  mtimeMs: number;
}

export function readSnapshot(run: string): RunSnapshot {
  const folder = new RunFolder(run);
  const config = folder.readConfig();
  // The trainer replaces the file by rename: one read sees one whole checkpoint.
  const mtimeMs = statSync(folder.checkpointPath).mtimeMs;
  const bytes = readFileSync(folder.checkpointPath);
  const checkpoint = new Uint8Array(new SharedArrayBuffer(bytes.length));
  checkpoint.set(bytes);
  return { config, checkpoint, sha256: createHash("sha256").update(bytes).digest("hex"), mtimeMs };
}
