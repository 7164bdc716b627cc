// Runs ../shared/bench reference scripts with the Python whose PyTorch the addon links.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** ../shared/bench, or an error that says how to point at it. */
export function requireBenchDir(): string {
  const dir = benchDir();
  if (!dir) throw new Error("cannot find ../shared/bench (set TORCHTS_BENCH_DIR)");
  return dir;
}

export function benchDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    for (const c of [join(dir, "shared", "bench"), join(dir, "..", "shared", "bench")]) if (existsSync(c)) return resolve(c);
    dir = dirname(dir);
  }
  return process.env.TORCHTS_BENCH_DIR ?? null;
}

export function runReference(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Record<string, unknown> | null {
  const dir = benchDir();
  if (!dir) {
    console.error("reference scripts not found (set TORCHTS_BENCH_DIR to ../shared/bench)");
    return null;
  }
  const r = spawnSync(process.env.PYTHON ?? "python3", [isAbsolute(script) ? script : join(dir, script), ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) {
    console.error(`reference ${script} failed: ${r.stderr}`);
    return null;
  }
  const line = r.stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  return line ? (JSON.parse(line) as Record<string, unknown>) : null;
}

export function printComparison(title: string, ours: Record<string, number>, ref: Record<string, number> | null): void {
  console.log(`${title}\n${"case".padEnd(28)} ${"torchts-ood".padStart(12)} ${"pytorch".padStart(10)} ${"ratio".padStart(7)}`);
  for (const [k, v] of Object.entries(ours)) {
    const r = ref?.[k];
    console.log(`${k.padEnd(28)} ${v.toFixed(3).padStart(12)} ${(r ?? NaN).toFixed(3).padStart(10)} ${(r ? v / r : NaN).toFixed(2).padStart(7)}`);
  }
}
