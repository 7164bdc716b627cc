// A run folder survives kills: rewrites are atomic, a kill's leftovers are cleaned up, and a cut-off
// last line of metrics.jsonl does not block a resume.
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { MetricsLog } from "../../lib/train/metrics.js";
import { removeStaleTemps, writeFileAtomic } from "../../lib/train/run-files.js";

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
