// End to end: train tiny Glow and CV-Glow runs for a few steps, run every analysis on them with small
// limits through the CLI's code path (runAnalysis), and build the report.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainRun } from "../../lib/train/run.js";
import { ANALYSES, ANALYSIS_NAMES, missingKinds, runAnalysis, type AnalysisFile } from "../../experiments/index.js";
import { buildReport } from "../../experiments/report.js";
import { SHARED_DATASETS } from "../paths.js";

const small: Record<string, Record<string, unknown>> = {
  "two-moons": { dims: [2, 4], trainSteps: 10, every: 5, styles: ["realnvp", "glow"], scales: ["exp", "sigmoid"] },
  graying: { factors: [1, 0.5, 0] },
  "code-stats": { factors: [1, 0] },
  "second-order": { probes: 4, probeBatch: 4 },
  "constant-inputs": { n: 4 },
  samples: { n: 4, temperatures: [1] },
  "dataset-stats": { splits: ["fashion-mnist:test", "mnist:test"] },
};

// The data come from scripts/setup.sh (FashionMNIST) and ../shared (MNIST test): without them this fails.
describe("analyses end to end on tiny runs", () => {
  let dir = "";
  const runs: string[] = [];
  const results: Record<string, AnalysisFile> = {};
  beforeAll(async () => {
    process.env.TORCHTS_OOD_DATA ??= SHARED_DATASETS;
    dir = mkdtempSync(join(tmpdir(), "analyses-"));
    for (const kind of ["glow", "cv-glow"] as const) {
      const out = join(dir, kind);
      await trainRun({
        kind,
        preset: "tiny",
        out,
        quiet: true,
        overrides: { steps: 2, evalEvery: 1, evalLimit: 8, logEvery: 1, checkpointEvery: 2, batchSize: 8 },
      });
      runs.push(out);
    }
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("says in one line when the runs lack the kind an analysis needs", () => {
    expect(missingKinds("ensemble", [runs[1]!])).toMatch(/^ensemble needs a run of kind glow; the given runs are cv-glow$/);
    expect(missingKinds("two-moons", [])).toBeNull();
  });

  it("runs every analysis and builds one self-contained report", async () => {
    for (const name of ANALYSIS_NAMES) {
      const r = await runAnalysis(name, { runs, out: join(dir, "out"), limit: 16, batchSize: 16, command: `test ${name}`, ...small[name] });
      results[name] = r;
      expect(r.name).toBe(name);
      expect(r.figure).toBe(ANALYSES[name]!.figure);
      for (const f of r.figures) expect(existsSync(join(dir, "out", f.file))).toBe(true);
      for (const v of r.verdicts) expect(typeof v.matchesPaper).toBe("boolean");
      const saved = JSON.parse(readFileSync(join(dir, "out", `${name}.json`), "utf8")) as AnalysisFile;
      expect(saved.matchesPaper).toBe(r.verdicts.length ? r.verdicts.every((v) => v.matchesPaper) : null);
    }
    expect((results["second-order"]!.results as { runs: { eq6?: { alpha: number[] } }[] }).runs.some((r) => r.eq6?.alpha.length === 4)).toBe(true);
    const svg = readFileSync(join(dir, "out", results["bpd-table"]!.figures[0]!.file), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    const rep = buildReport(join(dir, "out"));
    expect(rep.analyses).toEqual(ANALYSIS_NAMES);
    expect(rep.html).toContain("data:image/svg+xml;base64,");
    expect(rep.html).toContain("data:image/png;base64,");
    expect(rep.html).toContain("test second-order");
    expect(rep.html).not.toMatch(/src="(?!data:)/);
  }, 120_000);
});
