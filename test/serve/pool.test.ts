// createScoringPool as a library: Promises with eval's numbers, refusals that say what was wrong, and an
// OOD verdict only where the run's stored thresholds support one (else the answer says why there is none).
import { beforeAll, describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createScoringPool, PoolClosedError } from "../../lib/serve/pool.js";
import type { ImageDataset } from "../../lib/data/index.js";
import { REPO_ROOT } from "../paths.js";
import { close, DATA, imageBytes, png, post, servingFixture } from "./helpers.js";

let run = "";
let images: ImageDataset;
let reference: Float64Array;
beforeAll(async () => void ({ run, images, reference } = await servingFixture(4)));

/** A copy of the run, changed by `edit`. */
const copyOf = (edit: (dir: string) => void) => {
  const dir = join(mkdtempSync(join(tmpdir(), "torchts-serve-copy-")), "run");
  cpSync(run, dir, { recursive: true, preserveTimestamps: true });
  edit(dir);
  return dir;
};
/** Rewrites every ood report of a run folder. */
const rewriteReports = (dir: string, edit: (report: any) => unknown) => {
  for (const f of readdirSync(join(dir, "ood"))) {
    const p = join(dir, "ood", f);
    writeFileSync(p, JSON.stringify(edit(JSON.parse(readFileSync(p, "utf8")))));
  }
};

describe("createScoringPool", () => {
  it("scores 8-bit pixels and values in [0, 1] with eval's numbers, one answer per image", async () => {
    const pool = await createScoringPool(run, { workers: 1 });
    try {
      const bytes = await pool.score(images.images, 4);
      const unit = await pool.score(
        Float32Array.from(images.images, (p) => (p + 0.5) / 256),
        4,
      );
      expect(bytes).toHaveLength(4);
      bytes.forEach((s, i) => {
        expect(close(s.logPx, reference[i]!)).toBe(true);
        expect(s.logPx).toBe(unit[i]!.logPx);
        expect(s.ood?.score).toBe("combined");
        expect(Number.isFinite(s.logPz!) && Number.isFinite(s.logDet!)).toBe(true);
      });
    } finally {
      await pool.close();
    }
  });

  it("refuses images the model cannot score, and calls after close()", async () => {
    const pool = await createScoringPool(run, { workers: 1 });
    await expect(pool.score(new Uint8Array(700))).rejects.toThrow(/700 pixels are not 1 image of 1x28x28/);
    const nan = new Float32Array(784).fill(0.5);
    nan[30] = NaN;
    await expect(pool.score(nan)).rejects.toThrow(/NaN in image 0 at \[c, y, x\] = \[0, 1, 2\]/);
    await pool.close();
    await expect(pool.score(imageBytes(images, 0))).rejects.toBeInstanceOf(PoolClosedError);
    await pool.close(); // twice is fine
  });

  it.runIf(process.platform === "linux")("runs its scoring threads below the event loop's priority (nice 10)", async () => {
    // field 19 of /proc/self/task/TID/stat, counted after the ") " that ends the thread's name
    const niceOfTask = (t: string | number) => Number(readFileSync(`/proc/self/task/${t}/stat`, "utf8").split(") ")[1]!.split(" ")[16]);
    const niceOf = () => readdirSync("/proc/self/task").map(niceOfTask);
    const before = niceOf().filter((n) => n === 10).length;
    const pool = await createScoringPool(run, { workers: 2 });
    try {
      expect(niceOf().filter((n) => n === 10).length - before).toBe(2);
      expect(niceOfTask(process.pid)).toBe(0); // the main thread keeps its priority
    } finally {
      await pool.close();
    }
  });

  it("refuses a folder that is not a run, and bad options, saying what to give", async () => {
    await expect(createScoringPool(join(run, "nope"))).rejects.toThrow(/not a run folder.*torchts-ood train/);
    await expect(createScoringPool(run, { workers: 0 })).rejects.toThrow(/workers must be a positive integer, got 0/);
    await expect(createScoringPool(run, { maxWaitMs: -1 })).rejects.toThrow(/maxWaitMs must be a number >= 0/);
    await expect(createScoringPool(run, { workerNice: 20 })).rejects.toThrow(/workerNice must be an integer 0-19, got 20/);
  });
});

describe("the OOD verdict", () => {
  it.each([
    ["log-likelihood", (s: { logPx: number }) => -s.logPx],
    ["input-complexity", undefined],
    ["flow-terms", undefined],
    ["typicality", undefined],
    ["combined", undefined],
  ] as const)("serves %s with the threshold `ood` stored, and the value `ood` gave the image", async (score, value) => {
    const pool = await createScoringPool(run, { workers: 1, oodScore: score, data: DATA });
    try {
      expect(pool.info.ood).toMatchObject({ score, heldOut: "fashion-mnist:train[-5000:]" });
      const [s] = await pool.score(imageBytes(images, 0));
      expect(s!.ood).toMatchObject({ score, isOod: s!.ood!.value > s!.ood!.threshold });
      if (value) expect(s!.ood!.value).toBe(value(s!));
      // `ood` scored fashion-mnist:test at bin centres, as the service does: image 0 gets the same score.
      const report = JSON.parse(readFileSync(join(run, "ood", readdirSync(join(run, "ood"))[0]!), "utf8"));
      const stored = report.perExample[score].in[0];
      expect(Math.abs(s!.ood!.value - stored) / Math.max(1, Math.abs(stored)), score).toBeLessThan(1e-6);
    } finally {
      await pool.close();
    }
  });

  it.each([
    [
      "no ood file",
      () => copyOf((d) => rmSync(join(d, "ood"), { recursive: true })),
      "typicality",
      /no OOD verdict: .*holds no thresholds; run `torchts-ood ood/,
    ],
    ["a score that needs a second model", () => run, "likelihood-ratio", /no OOD verdict: likelihood-ratio is not computed from one model.*background model/],
    ["a score the file does not hold", () => run, "input-complexity-brotli", /no ood file of .* has the input-complexity-brotli score/],
    [
      "thresholds older than the checkpoint",
      () =>
        copyOf((d) => {
          const t = Date.now() / 1000 + 60;
          utimesSync(join(d, "checkpoint.safetensors"), t, t);
        }),
      "typicality",
      /older than the run's checkpoint.*run `torchts-ood ood` again/,
    ],
    [
      "thresholds computed at another step",
      () => copyOf((d) => rewriteReports(d, (r) => ({ ...r, step: r.step + 1000 }))),
      "typicality",
      /computed at step \d+, the checkpoint is at step \d+; run `torchts-ood ood` again/,
    ],
    [
      "a combined fit from before the kernel density (a Gaussian)",
      () => copyOf((d) => rewriteReports(d, (r) => ({ ...r, combined: { names: r.combined.names, mean: r.combined.mean } }))),
      "combined",
      /has combined scores but not the fitted kernel density \(written by an older version\); run `torchts-ood ood` again/,
    ],
    [
      "a corrupt combined fit",
      () => copyOf((d) => rewriteReports(d, (r) => ({ ...r, combined: { ...r.combined, points: [...r.combined.points.slice(1), "x"], bandwidth: 0 } }))),
      "combined",
      /the combined detector's fit: "points\[999\]" expected number.*; "bandwidth" too small.*run `torchts-ood ood` again/i,
    ],
  ] as const)("gives raw bits/dim and says why there is no verdict: %s", async (_, dir, score, why) => {
    const pool = await createScoringPool(dir(), { workers: 1, oodScore: score });
    try {
      expect(pool.info.ood).toMatchObject({ note: expect.stringMatching(why) });
      const [s] = await pool.score(imageBytes(images, 0));
      expect(s!.ood).toBeNull();
      expect(s!.note).toMatch(/the answer has log p\(x\) and bits\/dim only/);
      expect(close(s!.logPx, reference[0]!)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});

describe("examples/mount-pool.mjs", () => {
  it("mounts the pool in a plain node:http app", async () => {
    const child = spawn(process.execPath, [join(REPO_ROOT, "examples", "mount-pool.mjs"), run, "0"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (b: Buffer) => {
          const m = /http:\/\/[\d.:]+/.exec(String(b));
          if (m) resolve(m[0]);
        });
        child.once("exit", (code) => reject(new Error(`the example exited with ${code}`)));
      });
      const ok = await post(`${url}/ood`, png(imageBytes(images, 1)), "image/png");
      expect(ok.status).toBe(200);
      expect(close(ok.body.logPx, reference[1]!)).toBe(true);
      const bad = await post(`${url}/ood`, new Uint8Array(5), "application/octet-stream");
      expect(bad.status).toBe(400);
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  });
});
