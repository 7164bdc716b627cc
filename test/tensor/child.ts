// Runs an ES module in a child Node.js process, so a test of something that could abort (a signal, an
// uncaught exception in a finalizer) fails that test instead of taking the test runner down.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../paths.js";

/** The compiled tensor library and the addon, for a child's imports. */
export const TENSOR_INDEX = pathToFileURL(join(REPO_ROOT, "dist/lib/tensor/index.js")).href;
export const ADDON = join(REPO_ROOT, "build/Release/torchts.node");

const dir = mkdtempSync(join(tmpdir(), "torchts-child-"));

/** Writes `source` as <name> in the children's folder; its path. */
export function writeModule(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

/** Writes `source` as <name> and runs it: exit status, signal and output. */
export function runModule(name: string, source: string, o: { env?: Record<string, string>; nodeArgs?: string[] } = {}) {
  const file = writeModule(name, source);
  return spawnSync(process.execPath, [...(o.nodeArgs ?? []), file], { encoding: "utf8", timeout: 120_000, env: { ...process.env, ...o.env } });
}
