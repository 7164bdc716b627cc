// Every model kind goes through the same run folder path: trainRun (tiny preset, real FashionMNIST)
// writes config, checkpoint and metrics; scoreRun gives finite bits/dim on FashionMNIST and MNIST and
// writes the per-example files the analyses read. (The data come from scripts/setup.sh and ../shared.)
import { mkdtempSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODEL_KINDS } from "../../lib/models/registry.js";
import { trainRun } from "../../lib/train/run.js";
import { fileNameOf, scoreRun } from "../../lib/train/score.js";
import { SHARED_DATASETS } from "../paths.js";

const data = { env: { TORCHTS_OOD_DATA: SHARED_DATASETS } };
const splits = ["fashion-mnist:test[:16]", "mnist:test[:16]"];

describe("every model kind through trainRun and scoreRun", () => {
  for (const kind of MODEL_KINDS) {
    it(kind, async () => {
      const out = mkdtempSync(join(tmpdir(), `${kind}-run-`));
      try {
        const { config, summary } = await trainRun({
          kind,
          preset: "tiny",
          dataset: "fashion-mnist",
          out,
          quiet: true,
          data,
          evalSplits: splits,
          overrides: { steps: 4, evalEvery: 4, evalLimit: 16, checkpointEvery: 4, logEvery: 2 },
        });
        expect(config.model.kind).toBe(kind);
        expect(summary.steps).toBe(4);
        expect(Number.isFinite(summary.finalLoss)).toBe(true);
        for (const f of ["config.json", "checkpoint.safetensors", "metrics.jsonl"]) expect(existsSync(join(out, f)), f).toBe(true);
        const scores = await scoreRun(out, { splits, limit: 16, data });
        expect(scores.model).toBe(kind);
        for (const s of splits) {
          const v = scores.splits[s]!;
          expect(v.n).toBe(16);
          expect(Number.isFinite(v.bitsPerDim) && v.bitsPerDim > 0).toBe(true);
          expect(existsSync(join(out, "eval", fileNameOf(s)))).toBe(true);
        }
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }
});
