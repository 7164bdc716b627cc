// The command line, run in-process: help, one-line errors for bad input, and train -> eval -> sample.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runCli } from "../../bin/cli.js";
import { SHARED_DATASETS } from "../paths.js";
import * as torch from "../../lib/tensor/index.js";
import { checkpointStep, loadCheckpoint, saveCheckpoint } from "../../lib/train/checkpoint.js";

// out, err: console.log and console.error; stderr: what was written to process.stderr (progress, warnings)
let out: string[] = [],
  err: string[] = [],
  stderr: string[] = [];
beforeAll(() => {
  process.env.TORCHTS_OOD_DATA = SHARED_DATASETS;
});
afterEach(() => vi.restoreAllMocks());
async function cli(...args: string[]): Promise<number> {
  out = [];
  err = [];
  stderr = [];
  vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
  vi.spyOn(process.stderr, "write").mockImplementation((s) => (stderr.push(String(s)), true));
  const code = await runCli(args);
  vi.restoreAllMocks();
  return code;
}

const dir = mkdtempSync(join(tmpdir(), "torchts-cli-"));
const run = join(dir, "glow");

describe("torchts-ood CLI", () => {
  it("reports a failure to load the library in one line, from the installed entry point", () => {
    const bin = fileURLToPath(new URL("../../dist/bin/torchts-ood.js", import.meta.url));
    const r = spawnSync(process.execPath, [bin, "demo"], { encoding: "utf8", env: { ...process.env, TORCHTS_OOD_MALLOC: "fast" } });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('torchts-ood: TORCHTS_OOD_MALLOC must be "tuned" or "system", got "fast"');
  });

  it("prints help for the program and each command", async () => {
    expect(await cli("--help")).toBe(0);
    expect(out.join("\n")).toMatch(/torchts-ood train \[model\]/);
    for (const c of ["train", "eval", "sample"]) {
      expect(await cli(c, "--help")).toBe(0);
      expect(out.join("\n")).toMatch(new RegExp(`torchts-ood ${c}`));
    }
  });

  it("rejects unknown flags, impossible values and missing run folders with one line and code 1", async () => {
    const cases: [string[], RegExp][] = [
      [["train", "glow", "--bogus"], /Unknown argument: bogus/],
      [["train", "nope"], /Invalid values:|Choices/],
      [["train", "glow", "--steps", "-5", "--out", join(dir, "x")], /--steps must be a positive integer, got -5/],
      [["train", "glow", "--lr", "0", "--out", join(dir, "x")], /--lr must be a positive number/],
      [["train", "glow", "--device", "tpu", "--out", join(dir, "x")], /unknown device 'tpu'/],
      [["train", "glow", "--preset", "huge"], /Invalid values/],
      [["train", "glow", "--mutation-rate", "0.2"], /^torchts-ood: --mutation-rate only applies to a background model: add --background to train one/],
      [["train", "glow", "--l2", "1e-4", "--mutation-rate", "0.1"], /--mutation-rate and --l2 only apply to a background model: add --background/],
      [["train", "glow", "--background", "--mutation-rate", "0"], /--mutation-rate must be in \(0, 1\), got 0: it is the probability that a pixel is replaced/],
      [["train", "glow", "--background", "--mutation-rate", "1"], /--mutation-rate must be in \(0, 1\), got 1/],
      [["train", "glow", "--background", "--l2", "-1"], /--l2 must be a number >= 0, got -1/],
      [["train", "glow", "--seeds", "1-5", "--seed", "2"], /--seed and --seeds together: use --seeds alone/],
      [["train", "glow", "--seeds", "5-1"], /--seeds 5-1: the range 5-1 is empty: write it low-high, e.g. 1-5/],
      [["train", "glow", "--seeds", "1,2,1"], /--seeds 1,2,1: seed 1 is listed twice/],
      [["train", "glow", "--seeds", "one"], /--seeds one: 'one' is not a seed or a range: .*e.g. --seeds 1,2,3,4,5 or --seeds 1-5/],
      [["eval", join(dir, "missing")], /no run folder at/],
      [["sample", dir], /not a run folder \(no config.json\)/],
      [[], /Name a command/],
    ];
    for (const [args, re] of cases) {
      expect(await cli(...args), args.join(" ")).toBe(1);
      expect(err.join("\n"), args.join(" ")).toMatch(re);
    }
  });

  it("trains a tiny Glow, evaluates it as JSON and writes samples", async () => {
    expect(await cli("train", "glow", "--preset", "tiny", "--out", run, "--quiet")).toBe(0);
    for (const f of ["config.json", "checkpoint.safetensors", "metrics.jsonl"]) expect(existsSync(join(run, f))).toBe(true);
    expect(await cli("eval", run, "--json", "--limit", "64", "--splits", "fashion-mnist:test,mnist:test")).toBe(0);
    const scores = JSON.parse(out.join(""));
    expect(scores.model).toBe("glow");
    expect(Object.keys(scores.splits)).toEqual(["fashion-mnist:test", "mnist:test"]);
    for (const s of Object.values(scores.splits) as { n: number; bitsPerDim: number; logPz: number; logDet: number }[]) {
      expect(s.n).toBe(64);
      expect(Number.isFinite(s.bitsPerDim) && Number.isFinite(s.logPz) && Number.isFinite(s.logDet)).toBe(true);
    }
    const perExample = JSON.parse(readFileSync(join(run, "eval", "mnist_test.json"), "utf8"));
    expect(perExample.logPx).toHaveLength(64);
    const png = join(dir, "s.png");
    expect(await cli("sample", run, "-n", "4", "--out", png)).toBe(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe("PNG");
  });

  it("says what is wrong with a corrupt checkpoint and a missing data set", async () => {
    const bad = join(dir, "bad");
    expect(await cli("train", "glow", "--preset", "tiny", "--steps", "2", "--out", bad, "--quiet")).toBe(0);
    writeFileSync(join(bad, "checkpoint.safetensors"), "garbage");
    expect(await cli("eval", bad)).toBe(1);
    expect(err.join("\n")).toMatch(/not a valid safetensors file/);
    expect(await cli("eval", run, "--splits", "cifar10:test")).toBe(1);
    expect(err.join("\n")).toMatch(/cifar10.*was not found/i);
    // The exact command that fetches it, as typed (a new user's first command must lead somewhere).
    expect(err.join("\n")).toContain(`To download it (official URLs, md5-checked), run:\n  npx torchts-ood eval ${run} --splits cifar10:test --download`);
    // CelebA has no direct download: no --download command is offered for it.
    expect(await cli("eval", run, "--splits", "celeba:test")).toBe(1);
    expect(err.join("\n")).toMatch(/celeba.*was not found/i);
    expect(err.join("\n")).not.toContain("--download\n");
    expect(err.join("\n")).not.toContain("To download it");
  });

  it("refuses to score a model whose weights or log-likelihoods are not finite, saying why, with code 1", async () => {
    const good = join(dir, "finite");
    expect(await cli("train", "glow", "--preset", "tiny", "--steps", "2", "--out", good, "--quiet")).toBe(0);
    // Rewrites the run's checkpoint with every floating weight set to v.
    const withWeights = (v: number) => {
      const ck = loadCheckpoint(join(good, "checkpoint.safetensors"));
      const bad = join(dir, `weights-${v}`);
      mkdirSync(bad, { recursive: true });
      copyFileSync(join(good, "config.json"), join(bad, "config.json"));
      for (const t of Object.values(ck.model)) if (t.dtype === "float32") t.fill_(v);
      saveCheckpoint(join(bad, "checkpoint.safetensors"), { step: ck.step, model: ck.model, optimizer: ck.optimizer, state: ck.state });
      torch.dispose([ck.model, ck.optimizer, ck.rng]);
      return bad;
    };
    expect(await cli("eval", withWeights(NaN), "--limit", "16", "--splits", "fashion-mnist:test")).toBe(1);
    expect(err.join("\n")).toMatch(/checkpoint.safetensors \(step 2\) holds non-finite weights \(in .+\).*train it again/);
    expect(out.join("\n")).not.toMatch(/NaN/);
    // finite weights so large that the log-likelihood overflows
    expect(await cli("eval", withWeights(1e30), "--limit", "16", "--splits", "fashion-mnist:test", "--json")).toBe(1);
    expect(err.join("\n")).toMatch(/\(step 2\) gives a non-finite log p\(x\) for 16 of 16 images of fashion-mnist:test .*train it again/);
    expect(out.join("\n")).toBe("");
  });

  it("trains a tiny background model into runs/<model>-<dataset>-background; config.json records it, --resume keeps it", async () => {
    const cwd = process.cwd();
    process.chdir(mkdtempSync(join(tmpdir(), "torchts-cli-bg-")));
    try {
      expect(await cli("train", "glow", "--preset", "tiny", "--steps", "2", "--background", "--mutation-rate", "0.3", "--l2", "0.001", "--quiet")).toBe(0);
      const r = join("runs", "glow-fashion-mnist-background");
      expect(out.join("\n")).toMatch(new RegExp(`^trained a background glow for 2 steps .* -> ${r}\n`));
      const c = JSON.parse(readFileSync(join(r, "config.json"), "utf8"));
      expect(c.background).toEqual({ mutationRate: 0.3, l2: 0.001 });
      expect(c.train.weightDecay).toBe(0.001); // the tiny preset's own decay is 0: the optimizer applies the penalty
      // the settings are the run's: given again with other values, they are ignored, said so
      expect(await cli("train", "glow", "--resume", "--steps", "3", "--background", "--mutation-rate", "0.1", "--out", r, "--quiet")).toBe(0);
      expect(stderr.join("")).toContain(`ignoring --mutation-rate 0.1 (the run keeps 0.3); start a new run`);
      const after = JSON.parse(readFileSync(join(r, "config.json"), "utf8"));
      expect([after.background, after.train.steps]).toEqual([{ mutationRate: 0.3, l2: 0.001 }, 3]);
      // defaults: the paper's middle rate
      expect(await cli("train", "glow", "--preset", "tiny", "--steps", "1", "--background", "--out", "d", "--quiet")).toBe(0);
      expect(JSON.parse(readFileSync(join("d", "config.json"), "utf8")).background).toEqual({ mutationRate: 0.2, l2: 1e-4 });
    } finally {
      process.chdir(cwd);
    }
  });

  it("--seeds trains one run per seed into OUT/seed-N, prints the --ensemble list, and --resume continues each", async () => {
    const ens = join(dir, "ens");
    expect(await cli("train", "glow", "--preset", "tiny", "--steps", "2", "--seeds", "1-2,5", "--out", ens, "--quiet")).toBe(0);
    const dirs = [1, 2, 5].map((s) => join(ens, `seed-${s}`));
    expect(dirs.map((d) => JSON.parse(readFileSync(join(d, "config.json"), "utf8")).seed)).toEqual([1, 2, 5]);
    expect(out.join("\n")).toContain(
      `3 runs, one per seed:\n${dirs.map((d) => `  ${d}`).join("\n")}\n` + `to score them as an ensemble, pass:\n  --ensemble ${dirs.join(" ")}`,
    );
    // different seeds, different models
    const weights = dirs.map((d) => {
      const ck = loadCheckpoint(join(d, "checkpoint.safetensors"));
      const w = Object.values(ck.model)[0]!.toFlatArray();
      torch.dispose([ck.model, ck.optimizer, ck.rng]);
      return Array.from(w);
    });
    expect(weights[0]).not.toEqual(weights[1]);
    expect(await cli("train", "glow", "--seeds", "1-2,5", "--resume", "--steps", "3", "--out", ens, "--quiet")).toBe(0);
    expect(dirs.map((d) => checkpointStep(join(d, "checkpoint.safetensors")))).toEqual([3, 3, 3]);
    // a seed that fails stops the sweep, saying which, what is done and how to go on
    writeFileSync(join(dirs[1]!, "config.json"), "{");
    expect(await cli("train", "glow", "--seeds", "1-2,5", "--resume", "--steps", "4", "--out", ens, "--quiet")).toBe(1);
    expect(err.join("\n")).toMatch(
      new RegExp(
        `^torchts-ood: seed 2 \\(${dirs[1]}\\): .*JSON.*\nseed 1 is trained; the sweep stopped there\\. ` + "Run the same command with --resume to continue it",
      ),
    );
  });

  it("rewrites config.json by replacing it (a new inode), never in place, leaving no temporary file", async () => {
    const r = join(dir, "atomic");
    expect(await cli("train", "glow", "--preset", "tiny", "--steps", "2", "--out", r, "--quiet")).toBe(0);
    const before = statSync(join(r, "config.json")).ino;
    expect(await cli("train", "glow", "--resume", "--steps", "3", "--out", r, "--quiet")).toBe(0);
    expect(statSync(join(r, "config.json")).ino).not.toBe(before);
    expect(JSON.parse(readFileSync(join(r, "config.json"), "utf8")).train.steps).toBe(3);
    expect(readdirSync(r).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("refuses --resume with --steps at or below the run's step, leaving config.json as it was", async () => {
    const r = join(dir, "at-4");
    expect(await cli("train", "glow", "--preset", "tiny", "--steps", "4", "--out", r, "--quiet")).toBe(0);
    const config = readFileSync(join(r, "config.json"), "utf8");
    const inode = statSync(join(r, "config.json")).ino;
    for (const steps of ["2", "4"]) {
      expect(await cli("train", "glow", "--resume", "--steps", steps, "--out", r, "--quiet"), steps).toBe(1);
      expect(err.join("\n")).toMatch(
        new RegExp(
          `cannot resume .*at-4 with --steps ${steps}: the run is already at step 4, and --steps ` +
            "\\(the total to reach\\) must exceed 4\\. Nothing was changed\\.$",
        ),
      );
      expect(out.join("\n")).not.toMatch(/NaN/);
    }
    expect(readFileSync(join(r, "config.json"), "utf8")).toBe(config);
    expect(statSync(join(r, "config.json")).ino).toBe(inode);
    // a finished run resumed as it is: nothing to do, said so, without a NaN loss
    expect(await cli("train", "glow", "--resume", "--out", r, "--quiet")).toBe(0);
    expect(out.join("\n")).toMatch(/^nothing to train: .*at-4 is already at step 4 of 4 \(pass --steps with more than 4 to train further\)$/);
    expect(readFileSync(join(r, "config.json"), "utf8")).toBe(config);
  });

  it("on --resume honors --lr and --device, saying so, and names each ignored flag and the value the run keeps in one warning", async () => {
    const r = join(dir, "flags");
    expect(await cli("train", "glow", "--preset", "tiny", "--steps", "2", "--out", r, "--quiet")).toBe(0);
    // as if trained on a GPU machine and continued on this one
    const c = JSON.parse(readFileSync(join(r, "config.json"), "utf8"));
    writeFileSync(join(r, "config.json"), JSON.stringify({ ...c, device: "cuda" }));
    expect(
      await cli(
        "train",
        "realnvp",
        "--resume",
        "--steps",
        "4",
        "--lr",
        "0.002",
        "--batch-size",
        "8",
        "--preset",
        "cpu",
        "--device",
        "cpu",
        "--seed",
        "5",
        "--out",
        r,
        "--quiet",
      ),
    ).toBe(0);
    const warnings = stderr
      .join("")
      .split("\n")
      .filter((l) => l.includes("ignoring"));
    expect(warnings).toEqual([
      `train: --resume continues ${r} as configured, ignoring model realnvp (the run keeps glow), ` +
        "--preset cpu (the run keeps tiny), --seed 5 (the run keeps 0), --batch-size 8 (the run keeps 16); start a new run (another --out) to change them",
    ]);
    expect(stderr.join("")).toContain("train: --lr 0.002: the learning rate from step 3 on (was 0.001); config.json records it\n");
    expect(stderr.join("")).toContain("train: --device cpu: continuing on cpu (the run was on cuda); config.json records it\n");
    const after = JSON.parse(readFileSync(join(r, "config.json"), "utf8"));
    expect([after.kind, after.preset, after.seed, after.train.batchSize, after.train.lr, after.device, after.train.steps]).toEqual([
      "glow",
      "tiny",
      0,
      16,
      0.002,
      "cpu",
      4,
    ]);
    const last = readFileSync(join(r, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((l) => "lr" in l)
      .at(-1);
    expect([last.step, last.lr]).toEqual([4, 0.002]);
  });
});
