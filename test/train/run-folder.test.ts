// A run folder survives kills: rewrites are atomic, a kill's leftovers are cleaned up, and a cut-off
// last line of metrics.jsonl does not block a resume. Its config.json is checked field by field when read,
// and its score cache (eval/) is read only for the checkpoint, images and noise it was written for.
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { MetricsLog } from "../../lib/train/metrics.js";
import { removeStaleTemps, writeFileAtomic } from "../../lib/train/run-files.js";
import { RunFolder } from "../../lib/train/run-folder.js";
import { RUN_FORMAT, type RunConfig } from "../../lib/train/run-config.js";
import { ScoreCache, type ScoreKey } from "../../lib/train/score-cache.js";
import { presetFor } from "../../lib/models/registry.js";
import { openRun, trainRun } from "../../lib/train/run.js";
import { scoreRun } from "../../lib/train/score.js";
import { scores } from "../../experiments/common.js";
import { SHARED_DATASETS } from "../paths.js";

const line = (step: number) => JSON.stringify({ step, loss: 3, lr: 1e-3, gradNorm: 1, imagesPerSec: 10, wallTime: step }) + "\n";
/** A process id that is certainly not running: one of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!;

describe("metrics.jsonl", () => {
  it("skips a cut-off last line with a warning naming the file and the line", () => {
    const p = join(mkdtempSync(join(tmpdir(), "torchts-runfolder-")), "metrics.jsonl");
    writeFileSync(p, line(2) + line(4) + '{"step":6,"lo');
    const warnings: string[] = [];
    const log = new MetricsLog(p, (m) => warnings.push(m));
    expect(log.read().map((l) => l.step)).toEqual([2, 4]);
    expect(warnings).toEqual([`${p}: line 3 is cut off (a write was interrupted); it is skipped`]);
  });

  it("a corrupt line before the last is an error naming the file and the line", () => {
    const p = join(mkdtempSync(join(tmpdir(), "torchts-runfolder-")), "metrics.jsonl");
    writeFileSync(p, line(2) + '{"step":4,"lo\n' + line(6));
    expect(() => new MetricsLog(p, () => {}).read()).toThrow(new RegExp(`^${p}: line 2 is not valid JSON \\(.+\\): fix or delete that line`));
    writeFileSync(p, line(2) + '{"loss":1}\n' + line(6));
    expect(() => new MetricsLog(p, () => {}).read()).toThrow(new RegExp(`^${p}: line 2 is not a metrics record \\(it has no step\\)`));
  });

  it("is rewritten by replacing the file (a new inode), never in place, and the cut-off line is gone", () => {
    const p = join(mkdtempSync(join(tmpdir(), "torchts-runfolder-")), "metrics.jsonl");
    writeFileSync(p, line(2) + line(4) + line(6) + '{"st');
    const before = statSync(p).ino;
    new MetricsLog(p, () => {}).truncateAfter(4);
    expect(statSync(p).ino).not.toBe(before);
    expect(readFileSync(p, "utf8")).toBe(line(2) + line(4));
  });
});

describe("run folder files", () => {
  it("writeFileAtomic replaces the file through a temporary file in the same folder, leaving none behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "torchts-runfolder-"));
    const p = join(dir, "config.json");
    writeFileSync(p, "old");
    const before = statSync(p).ino;
    writeFileAtomic(p, "new\n");
    expect(readFileSync(p, "utf8")).toBe("new\n");
    expect(statSync(p).ino).not.toBe(before);
    expect(readdirSync(dir)).toEqual(["config.json"]);
  });

  it("removes the temporary files of processes that are no longer running, and only those", () => {
    const dir = mkdtempSync(join(tmpdir(), "torchts-runfolder-"));
    const dead = deadPid();
    const files = [
      "checkpoint.safetensors",
      `checkpoint.safetensors.tmp-${dead}`,
      `config.json.tmp-${dead}`,
      `checkpoint.safetensors.tmp-${process.ppid}`,
      `metrics.jsonl.tmp-${process.pid}`,
    ];
    for (const f of files) writeFileSync(join(dir, f), "x");
    expect(removeStaleTemps(dir).sort()).toEqual([`checkpoint.safetensors.tmp-${dead}`, `config.json.tmp-${dead}`]);
    expect(readdirSync(dir).sort()).toEqual([files[0], files[3], files[4]].sort());
  });
});

describe("config.json", () => {
  const preset = presetFor("glow", "tiny", [1, 28, 28]);
  const valid: RunConfig = {
    format: RUN_FORMAT,
    kind: "glow",
    preset: "tiny",
    dataset: "fashion-mnist:train",
    seed: 0,
    device: "cpu",
    model: preset.model,
    train: preset.train,
    evalSplits: ["fashion-mnist:test", "mnist:test"],
  };
  /** The error reading back `valid` with `edit` applied. */
  const errorOf = (edit: (c: Record<string, any>) => void): string => {
    const folder = new RunFolder(mkdtempSync(join(tmpdir(), "torchts-config-")));
    const c = JSON.parse(JSON.stringify(valid));
    edit(c);
    writeFileSync(folder.configPath, JSON.stringify(c));
    try {
      folder.readConfig();
    } catch (e) {
      return (e as Error).message.replace(folder.configPath, "CONFIG");
    }
    return "no error";
  };

  it("reads back what was written", () => {
    const folder = new RunFolder(mkdtempSync(join(tmpdir(), "torchts-config-")));
    folder.writeConfig(valid);
    expect(folder.readConfig()).toEqual(valid);
    // and never writes what it could not read back
    const other = new RunFolder(join(folder.dir, "other"));
    expect(() => other.writeConfig({ ...valid, seed: -1 })).toThrow(`${other.configPath}: "seed" must be an integer >= 0, got -1`);
    expect(other.exists()).toBe(false);
  });

  it("names the field and the value that cannot be a run's", () => {
    expect(errorOf((c) => (c.train.lr = "abc"))).toBe('CONFIG: "train.lr" must be a positive number, got "abc"; fix the file or train the run again');
    expect(errorOf((c) => delete c.train.steps)).toMatch(/^CONFIG: "train.steps" must be an integer >= 1, got nothing;/);
    expect(errorOf((c) => (c.kind = "glw"))).toMatch(/^CONFIG: "kind" must be one of glow, cv-glow, .*, got "glw";/);
    expect(errorOf((c) => (c.model.kind = "realnvp"))).toMatch(/^CONFIG: "model.kind" must be the run's kind "glow", got "realnvp";/);
    expect(errorOf((c) => (c.dataset = "fashion-mnist"))).toMatch(/^CONFIG: "dataset" is not a split: bad split 'fashion-mnist': expected DATASET:SPLIT/);
    expect(errorOf((c) => (c.evalSplits[1] = "mnst:test"))).toMatch(/^CONFIG: "evalSplits\[1\]" names an unknown data set 'mnst';/);
    expect(errorOf((c) => (c.evalSplits[0] = "mnist:tset"))).toMatch(/^CONFIG: "evalSplits\[0\]" is not a split: Bad split "tset"/);
    expect(errorOf((c) => (c.device = "gpu"))).toMatch(/^CONFIG: "device" must be cpu, cuda or cuda:N, got "gpu";/);
    expect(errorOf((c) => (c.background = { mutationRate: 2, l2: 0 }))).toMatch(/^CONFIG: "background.mutationRate" must be in \(0, 1\), got 2;/);
    expect(errorOf((c) => (c.train.factors = [0.5]))).toMatch(/^CONFIG: "train.factors" must have one factor per boundary \(0\), got 1;/);
    expect(errorOf((c) => (c.format = "other/1"))).toMatch(/^CONFIG: is not a torchts-ood run config \(format "other\/1", expected "torchts-ood-run\/1"\);/);
  });

  it("checks the model's fields by the model's schema, and its image size against the training data's", () => {
    expect(errorOf((c) => (c.model.imageShape = [1, -28, 28]))).toMatch(/^CONFIG: "model.imageShape\[1\]" must be an integer >= 1, got -28;/);
    expect(errorOf((c) => (c.model.scale = "sigmod"))).toMatch(/^CONFIG: "model.scale" .*"sigmoid"\|"exp".*got "sigmod";/);
    expect(errorOf((c) => delete c.model.levels)).toMatch(/^CONFIG: "model.levels" must be an integer >= 1, got nothing;/);
    // convolutions take any size: a 28x28 model would open and score 32x32 images it never saw
    expect(errorOf((c) => (c.model.imageShape = [1, 32, 32]))).toMatch(
      /^CONFIG: "model.imageShape" must be \[1,28,28\], the shape of fashion-mnist images \(the run's "dataset"\), got \[1,32,32\];/,
    );
  });

  it("keeps unknown top-level fields and takes valSplit, so folders of other versions open", () => {
    const folder = new RunFolder(mkdtempSync(join(tmpdir(), "torchts-config-")));
    const withMore = { ...valid, valSplit: "fashion-mnist:train[55000:]", note: "later field" };
    writeFileSync(folder.configPath, JSON.stringify(withMore));
    expect(folder.readConfig()).toEqual(withMore);
    expect(errorOf((c) => (c.valSplit = "fashion-mnist:trian"))).toMatch(/^CONFIG: "valSplit" is not a split/);
  });

  it("says when the file is not JSON, or not there", () => {
    const folder = new RunFolder(mkdtempSync(join(tmpdir(), "torchts-config-")));
    writeFileSync(folder.configPath, "{");
    expect(() => folder.readConfig()).toThrow(new RegExp(`^${folder.configPath}: is not valid JSON \\(.+\\); fix the file`));
    const empty = new RunFolder(join(folder.dir, "nothing"));
    expect(() => empty.readConfig()).toThrow(`${empty.dir} is not a run folder (no config.json): train one with \`torchts-ood train\``);
  });
});

describe("the score cache (RUN/eval/)", () => {
  const key: ScoreKey = { split: "mnist:test", step: 10, limit: 3, seed: 1234, batchSize: 256 };
  const s = { n: 3, mean: { logPx: -1, bitsPerDim: 1 }, logPx: Float64Array.of(-1, -2, 0), bitsPerDim: Float64Array.of(1, 2, 0) };

  it("gives back what was saved, NaN and infinities included, and only for the same split, step, limit and noise", () => {
    const cache = new ScoreCache(join(mkdtempSync(join(tmpdir(), "torchts-cache-")), "eval"));
    const odd = { ...s, logPx: Float64Array.of(NaN, -Infinity, Infinity) };
    cache.write(key, "glow", odd);
    expect(Array.from(cache.read(key)!.logPx)).toEqual([NaN, -Infinity, Infinity]);
    for (const other of [{ step: 11 }, { limit: null }, { limit: 4 }, { seed: 1 }, { batchSize: 128 }, { split: "mnist:test[:3]" }])
      expect(cache.read({ ...key, ...other }), JSON.stringify(other)).toBeNull();
    // a damaged file is a miss, scored again
    writeFileSync(cache.fileOf(key.split), "{");
    expect(cache.read(key)).toBeNull();
  });

  describe("shared by eval and the analyses", () => {
    const data = { env: { TORCHTS_OOD_DATA: SHARED_DATASETS } };
    const split = "fashion-mnist:test[:16]";
    let dir = "";
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "torchts-cache-run-"));
      await trainRun({
        kind: "glow",
        preset: "tiny",
        out: dir,
        quiet: true,
        data,
        evalSplits: [split],
        overrides: { steps: 2, evalEvery: 0, checkpointEvery: 2 },
      });
    }, 60_000);

    /** Marks the saved scores of `split` so that a read of them shows. */
    const mark = (folder: RunFolder, k: ScoreKey) => {
      const saved = folder.scores.read(k)!;
      folder.scores.write(k, "glow", { ...saved, mean: { ...saved.mean, bitsPerDim: 99 }, bitsPerDim: saved.bitsPerDim.map(() => 99) });
    };

    it("eval reads its own saved scores back, and the analyses read eval's", async () => {
      const folder = new RunFolder(dir);
      const first = await scoreRun(dir, { splits: [split], limit: 8, data });
      const k: ScoreKey = { split, step: 2, limit: 8, seed: 1234, batchSize: 256 };
      expect(folder.scores.read(k)!.n).toBe(8);
      mark(folder, k);
      expect((await scoreRun(dir, { splits: [split], limit: 8, data })).splits[split]!.bitsPerDim).toBe(99);
      // another limit is another key: scored again, the same numbers as the first time
      expect((await scoreRun(dir, { splits: [split], limit: 4, data })).splits[split]!.n).toBe(4);
      const run = openRun(dir, "cpu");
      try {
        mark(folder, { ...k, limit: 4 });
        const a = await scores(run, split, { data }, 4);
        expect(Array.from(a.bitsPerDim)).toEqual([99, 99, 99, 99]);
      } finally {
        run.model.dispose();
      }
      expect(first.splits[split]!.bitsPerDim).toBeLessThan(99);
    }, 60_000);

    it("a new run trained into the folder drops the old model's scores", async () => {
      expect(readdirSync(join(dir, "eval")).length).toBeGreaterThan(0);
      await trainRun({
        kind: "glow",
        preset: "tiny",
        out: dir,
        quiet: true,
        data,
        evalSplits: [split],
        overrides: { steps: 2, evalEvery: 0, checkpointEvery: 2 },
      });
      expect(existsSync(join(dir, "eval"))).toBe(false);
    }, 60_000);
  });
});
