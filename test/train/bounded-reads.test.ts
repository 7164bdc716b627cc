// Files named by callers or found in run folders are read only if they are regular files, and only as
// far as their size and headers say: a link to /dev/zero or /dev/urandom used to be read until memory ran
// out, and a FIFO blocked the event loop for ever (`new Scorer(run)` never settled). Each case runs in a
// child process with a time limit, so a hang or an out-of-memory fails the test instead of the runner.
import { beforeAll, describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { openRun, trainRun } from "../../lib/train/run.js";
import { loadSafetensors, saveSafetensors } from "../../lib/tensor/safetensors.js";
import { REPO_ROOT, SHARED_DATASETS } from "../paths.js";

const dist = (p: string) => JSON.stringify(join(REPO_ROOT, "dist", p));

/** Runs an ES module body in a child node (512 MB heap, 20 s); returns what it printed, or why it died. */
function child(body: string): string {
  // a file, not -e: a worker the body starts inherits the flags, and --input-type is refused there
  const file = join(mkdtempSync(join(tmpdir(), "torchts-bounded-child-")), "main.mjs");
  writeFileSync(file, body);
  const r = spawnSync(process.execPath, ["--max-old-space-size=512", file], {
    encoding: "utf8",
    timeout: 20_000,
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
  if (r.error || r.status !== 0) return `child failed: ${r.error?.message ?? ""} status ${r.status} signal ${r.signal} ${r.stderr.slice(-300)}`;
  return r.stdout.trim();
}
/** The message of what `expr` throws or rejects with, in a child. */
const errorIn = (imports: string, expr: string) =>
  child(`${imports}\ntry { await (async () => { ${expr} })(); console.log("no error"); } catch (e) { console.log(e.message); }`);

const mkfifo = (path: string) => {
  const r = spawnSync("mkfifo", [path]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
};

describe("bounded reads of checkpoints and run folders", () => {
  let run = "";
  let tmp = "";
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "torchts-bounded-"));
    run = join(tmp, "run");
    await trainRun({
      kind: "glow",
      preset: "tiny",
      out: run,
      quiet: true,
      overrides: { steps: 2, checkpointEvery: 2, evalEvery: 0 },
      evalSplits: [],
      data: { dataDir: SHARED_DATASETS },
    });
  }, 60_000);

  /** A copy of the run with `file` replaced by a link to `target`, or by a FIFO. */
  const variant = (file: string, target: string | "fifo") => {
    const dir = mkdtempSync(join(tmp, "v-"));
    cpSync(run, dir, { recursive: true });
    rmSync(join(dir, file));
    if (target === "fifo") mkfifo(join(dir, file));
    else symlinkSync(target, join(dir, file));
    return dir;
  };
  const st = `import { loadSafetensors } from ${dist("lib/tensor/safetensors.js")};`;
  const open = `import { openRun } from ${dist("lib/train/run.js")};`;

  it("loadSafetensors refuses /dev/zero, a link to /dev/urandom and a FIFO, naming what it is", () => {
    expect(errorIn(st, `loadSafetensors("/dev/zero")`)).toMatch(
      /^cannot read checkpoint \/dev\/zero: the checkpoint is a character device .*not a regular file/,
    );
    const link = join(tmp, "urandom.safetensors");
    symlinkSync("/dev/urandom", link);
    expect(errorIn(st, `loadSafetensors(${JSON.stringify(link)})`)).toMatch(/is a character device/);
    const fifo = join(tmp, "fifo.safetensors");
    mkfifo(fifo);
    expect(errorIn(st, `loadSafetensors(${JSON.stringify(fifo)})`)).toMatch(/is a FIFO \(named pipe\), not a regular file/);
  });

  it("openRun refuses a config.json or checkpoint linked to /dev/zero, or a FIFO in their place", () => {
    expect(errorIn(open, `openRun(${JSON.stringify(variant("config.json", "/dev/zero"))})`)).toMatch(/config.json: config.json is a character device/);
    expect(errorIn(open, `openRun(${JSON.stringify(variant("config.json", "fifo"))})`)).toMatch(/config.json: config.json is a FIFO/);
    expect(errorIn(open, `openRun(${JSON.stringify(variant("checkpoint.safetensors", "/dev/zero"))})`)).toMatch(/the checkpoint is a character device/);
    expect(errorIn(open, `openRun(${JSON.stringify(variant("checkpoint.safetensors", "fifo"))})`)).toMatch(/the checkpoint is a FIFO/);
  });

  it("openRun compares the image shape the checkpoint records with config.json's", () => {
    const dir = mkdtempSync(join(tmp, "shape-"));
    cpSync(run, dir, { recursive: true });
    const path = join(dir, "checkpoint.safetensors");
    const { tensors, metadata } = loadSafetensors(path);
    expect(metadata.imageShape).toBe("[1,28,28]");
    saveSafetensors(path, tensors, { ...metadata, imageShape: "[1,32,32]" });
    for (const t of Object.values(tensors)) t.dispose();
    expect(() => openRun(dir, "cpu")).toThrow(
      `${dir}/checkpoint.safetensors was trained on 1x32x32 images, config.json says model.imageShape 1x28x28: put back [1, 32, 32] in config.json`,
    );
  });

  it("a Scorer on a run whose checkpoint is a FIFO rejects ready, and close() resolves", () => {
    const dir = variant("checkpoint.safetensors", "fifo");
    const out = child(`import { Scorer } from ${dist("lib/serve/scorer.js")};
      const s = new Scorer(${JSON.stringify(dir)});
      let msg = "settled without error";
      try { await s.ready; } catch (e) { msg = e.message; }
      await s.close();
      console.log("closed: " + msg);`);
    expect(out).toMatch(/^closed: .*the checkpoint is a FIFO/);
  });
});
