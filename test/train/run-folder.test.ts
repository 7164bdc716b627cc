// A run folder survives kills: rewrites are atomic, a kill's leftovers are cleaned up, and a cut-off
// last line of metrics.jsonl does not block a resume. Its config.json is checked field by field when read.
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { MetricsLog } from "../../lib/train/metrics.js";
import { removeStaleTemps, writeFileAtomic } from "../../lib/train/run-files.js";
import { RunFolder } from "../../lib/train/run-folder.js";
import { RUN_FORMAT, type RunConfig } from "../../lib/train/run-config.js";
import { presetFor } from "../../lib/models/registry.js";

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
    const files = ["checkpoint.safetensors", `checkpoint.safetensors.tmp-${dead}`, `config.json.tmp-${dead}`,
      `checkpoint.safetensors.tmp-${process.ppid}`, `metrics.jsonl.tmp-${process.pid}`];
    for (const f of files) writeFileSync(join(dir, f), "x");
    expect(removeStaleTemps(dir).sort()).toEqual([`checkpoint.safetensors.tmp-${dead}`, `config.json.tmp-${dead}`]);
    expect(readdirSync(dir).sort()).toEqual([files[0], files[3], files[4]].sort());
  });
});

describe("config.json", () => {
  const preset = presetFor("glow", "tiny", [1, 28, 28]);
  const valid: RunConfig = {
    format: RUN_FORMAT, kind: "glow", preset: "tiny", dataset: "fashion-mnist:train", seed: 0, device: "cpu", model: preset.model,
    train: preset.train, evalSplits: ["fashion-mnist:test", "mnist:test"],
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

  it("says when the file is not JSON, or not there", () => {
    const folder = new RunFolder(mkdtempSync(join(tmpdir(), "torchts-config-")));
    writeFileSync(folder.configPath, "{");
    expect(() => folder.readConfig()).toThrow(new RegExp(`^${folder.configPath}: is not valid JSON \\(.+\\); fix the file`));
    const empty = new RunFolder(join(folder.dir, "nothing"));
    expect(() => empty.readConfig()).toThrow(`${empty.dir} is not a run folder (no config.json): train one with \`torchts-ood train\``);
  });
});
