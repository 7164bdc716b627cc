// The training loop: exact resume, metrics and checkpoints, and a clear stop on a non-finite loss.
import { describe, expect, it } from "vitest";
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, existsSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../../lib/tensor/index.js";
import { uniformImages } from "../../lib/data/index.js";
import { Glow } from "../../lib/models/glow/glow.js";
import { presetFor } from "../../lib/models/registry.js";
import { optimizerOf, scheduleOf } from "../../lib/train/run.js";
import { trainLoop, NonFiniteLossError, NonFiniteStateError, type TrainLoopConfig } from "../../lib/train/trainer.js";
import { loadCheckpoint } from "../../lib/train/checkpoint.js";
import { Progress } from "../../lib/train/progress.js";
import { MetricsLog, type StepMetrics } from "../../lib/train/metrics.js";

const data = uniformImages({ n: 256, channels: 1, height: 8, width: 8, seed: 3 });
const evalData = uniformImages({ n: 64, channels: 1, height: 8, width: 8, seed: 4 });
const preset = presetFor("glow", "tiny", [1, 8, 8]);
const quiet = new Progress(process.stderr, 10, true);
const config = (o: Partial<TrainLoopConfig> = {}): TrainLoopConfig => ({
  ...preset.train,
  steps: 12,
  batchSize: 16,
  checkpointEvery: 4,
  evalEvery: 6,
  evalLimit: 32,
  logEvery: 2,
  seed: 7,
  lrAt: scheduleOf(preset.train),
  ...o,
});

async function run(outDir: string, o: { stopAfter?: number; resume?: boolean; cfg?: Partial<TrainLoopConfig> } = {}) {
  torch.manualSeed(7);
  const model = new Glow(preset.model as never);
  const optimizer = optimizerOf(preset.train, model.parameters());
  const summary = await trainLoop({
    model,
    optimizer,
    train: data,
    evalSplits: { held: evalData },
    outDir,
    config: config(o.cfg),
    progress: quiet,
    ...(o.stopAfter ? { stopAfter: o.stopAfter } : {}),
    ...(o.resume ? { resume: true } : {}),
  });
  const params = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.toFlatArray()]));
  model.dispose();
  optimizer.dispose();
  return { summary, params };
}

describe("trainLoop", () => {
  it("a run stopped and resumed ends with exactly the parameters of an uninterrupted run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "torchts-train-"));
    const full = await run(join(dir, "full"));
    await run(join(dir, "split"), { stopAfter: 5 }); // the checkpoint is written at the stop
    const resumed = await run(join(dir, "split"), { resume: true });
    expect(resumed.summary.resumedFrom).toBe(5);
    expect(resumed.summary.steps).toBe(12);
    expect(Object.keys(resumed.params)).toEqual(Object.keys(full.params));
    for (const k of Object.keys(full.params)) expect(resumed.params[k], k).toEqual(full.params[k]);
    // the metrics read as one run
    const a = new MetricsLog(join(dir, "full", "metrics.jsonl")).read();
    const b = new MetricsLog(join(dir, "split", "metrics.jsonl")).read();
    expect(b.map((l) => l.step)).toEqual(a.map((l) => l.step));
    expect((b.filter((l) => "loss" in l) as StepMetrics[]).map((l) => l.loss)).toEqual((a.filter((l) => "loss" in l) as StepMetrics[]).map((l) => l.loss));
  });

  it("a background run (mutated pixels) stopped and resumed ends exactly as an uninterrupted one, and not as an ordinary run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "torchts-train-"));
    const cfg = { mutationRate: 0.2 };
    const full = await run(join(dir, "full"), { cfg });
    await run(join(dir, "split"), { stopAfter: 5, cfg });
    const resumed = await run(join(dir, "split"), { resume: true, cfg });
    for (const k of Object.keys(full.params)) expect(resumed.params[k], k).toEqual(full.params[k]);
    const plain = await run(join(dir, "plain"));
    expect(Object.keys(full.params).some((k) => JSON.stringify(plain.params[k]) !== JSON.stringify(full.params[k]))).toBe(true);
    // a checkpoint of a mutated run does not resume as an unmutated one
    await expect(run(join(dir, "split"), { resume: true, cfg: { steps: 14 } })).rejects.toThrow(/mutationRate = 0.2, this loader has 0/);
  });

  it("writes metrics with loss in bits/dim, lr, gradient norm, speed and wall time, and evaluation lines", async () => {
    const dir = mkdtempSync(join(tmpdir(), "torchts-train-"));
    await run(dir);
    const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const step = lines.find((l) => "loss" in l);
    expect(Object.keys(step).sort()).toEqual(["gradNorm", "imagesPerSec", "loss", "lr", "step", "wallTime"]);
    expect(step.loss).toBeGreaterThan(0);
    expect(lines.filter((l) => "eval" in l).map((l) => l.step)).toEqual([6, 12]);
    expect(existsSync(join(dir, "checkpoint.safetensors"))).toBe(true);
  });

  it("stops with the step and the term when the loss is not finite, keeping the last good checkpoint", async () => {
    const dir = mkdtempSync(join(tmpdir(), "torchts-train-"));
    // a learning rate this large blows the affine couplings up within a few steps
    const err = await run(dir, { cfg: { lrAt: (s) => (s < 5 ? 1e-3 : 1e6), clipNorm: 0, steps: 40 } }).catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect(err.step).toBeGreaterThanOrEqual(5);
    expect(err.message).toMatch(/the loss became non-finite.* at step \d+; the last good checkpoint is kept at .*checkpoint.safetensors/);
    expect(existsSync(join(dir, "checkpoint.safetensors"))).toBe(true);
  });

  // The loss of step 8 is computed before its update, so it is finite; the update with these rates is not.
  const blownUpAt8 = async (lr: number, what: RegExp) => {
    const dir = mkdtempSync(join(tmpdir(), "torchts-train-"));
    const err = await run(dir, { cfg: { lrAt: (s) => (s === 8 ? lr : 1e-3), clipNorm: 0 } }).catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteStateError);
    expect(err.step).toBe(8);
    expect(err.message).toMatch(
      new RegExp(
        `training stopped: the update of step 8 made the ${what.source}; ` +
          "the last good checkpoint is kept at .*checkpoint.safetensors \\(step 4\\)\\. Lower --lr",
      ),
    );
    const ck = loadCheckpoint(join(dir, "checkpoint.safetensors"));
    expect(ck.step).toBe(4);
    for (const [k, t] of Object.entries({ ...ck.model, ...ck.optimizer })) expect(Boolean(t.isfinite().all().item()), k).toBe(true);
    torch.dispose([ck.model, ck.optimizer, ck.rng]);
    const resumed = await run(dir, { resume: true });
    expect(resumed.summary.resumedFrom).toBe(4);
    expect(resumed.summary.steps).toBe(12);
    expect(Number.isFinite(resumed.summary.finalLoss)).toBe(true);
  };

  it("never saves weights an update made huge over the last good checkpoint, and the run resumes from it", async () => {
    // finite weights (~1e30) whose loss overflows: the measured case of issue 13
    await blownUpAt8(1e30, /loss non-finite \(in log p\(z\)( and log-det)?\) on the step's batch/);
  });

  it("never saves non-finite weights over the last good checkpoint, and the run resumes from it", async () => {
    // The largest finite rate (optimizers refuse an infinite one): Adam's step size lr/(1-β1ᵗ) overflows to
    // Infinity, and so do the weights.
    await blownUpAt8(Number.MAX_VALUE, /weights non-finite \(in .+\)/);
  });

  it("resumes a killed run: a cut-off last metrics line is skipped and the kill's temporary checkpoint removed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "torchts-train-"));
    await run(dir, { stopAfter: 6 });
    // what a kill during a metrics append and during a checkpoint write leaves behind
    appendFileSync(join(dir, "metrics.jsonl"), '{"step":7,"loss":3.1');
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    writeFileSync(join(dir, `checkpoint.safetensors.tmp-${dead}`), "partial");
    const resumed = await run(dir, { resume: true });
    expect(resumed.summary.resumedFrom).toBe(6);
    expect(resumed.summary.steps).toBe(12);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
    const steps = new MetricsLog(join(dir, "metrics.jsonl"), () => {}).read().map((l) => l.step);
    expect(steps).toEqual([2, 4, 6, 6, 8, 10, 12, 12]);
  });
});
