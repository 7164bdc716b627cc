#!/usr/bin/env node
// How far the seeded flows' values move between LibTorch's CPU kernels and thread counts: runs
// test/models/flow-compat.test.ts under each ATEN_CPU_CAPABILITY and thread count with
// FLOW_FIXTURE_DUMP, and prints each run's largest relative drift from the fixture (and the key where
// it is largest). The test's TOLERANCE is set from this. Usage: node scripts/flow-drift.mjs [--fixture F]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** max_i |a_i - b_i| / max_i |b_i|: drift relative to the vector's largest magnitude. */
export function relativeDrift(a, b) {
  let diff = 0,
    scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** The kind of value a fixture key holds; each kind has its own tolerance in the test. */
export const kindOf = (key) => (/ (train|eval) log|two moons/.test(key) ? "likelihoods" : "tensors");

/** Largest drift of a dump from the fixture over the float keys of each kind, and where. */
export function worstDrift(dump, fixture) {
  const worst = {};
  for (const [key, want] of Object.entries(fixture)) {
    const got = dump[key];
    if (!Array.isArray(want) || typeof want[0] !== "number" || !Array.isArray(got)) continue;
    const drift = relativeDrift(got, want);
    const kind = kindOf(key);
    if (!worst[kind] || drift > worst[kind].drift) worst[kind] = { drift, key };
  }
  return worst;
}

function main() {
  const args = process.argv.slice(2);
  const fixturePath = args[0] === "--fixture" ? args[1] : "test/models/fixtures/flow-compat.json";
  const fixture = JSON.parse(readFileSync(fixturePath, "utf8"));
  const dir = mkdtempSync(join(tmpdir(), "flow-drift-"));
  const runs = [];
  const only = process.env.FLOW_DRIFT_RUNS === "native-1"; // one run: how far a deliberate change moves
  for (const capability of only ? [""] : ["default", "avx2", ""]) for (const threads of only ? [1] : [1, 2]) runs.push({ capability, threads });
  for (const { capability, threads } of runs) {
    const out = join(dir, `${capability || "native"}-${threads}.json`);
    const env = { ...process.env, FLOW_FIXTURE_DUMP: out, TORCHTS_TEST_THREADS: String(threads) };
    if (capability) env.ATEN_CPU_CAPABILITY = capability;
    else delete env.ATEN_CPU_CAPABILITY;
    execFileSync("npx", ["vitest", "run", "test/models/flow-compat.test.ts"], { env, stdio: "ignore" });
    const worst = worstDrift(JSON.parse(readFileSync(out, "utf8")), fixture);
    const parts = Object.entries(worst).map(([kind, { drift, key }]) => `${kind} ${drift.toExponential(2)} ('${key}')`);
    console.log(`ATEN_CPU_CAPABILITY=${capability || "(this CPU's)"} threads=${threads}: largest relative drift: ${parts.join(", ")}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) main();
