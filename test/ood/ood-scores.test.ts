// oodScores and `torchts-ood ood` on tiny runs trained here on real FashionMNIST: every score that applies
// is computed and written, the JSON has the documented shape, and bad input is a clear error naming the
// argument. (Whether the scores separate well is measured on real runs: README.md's table.)
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { PNG } from "pngjs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trainRun } from "../../lib/train/run.js";
import { oodFileName, oodScores } from "../../lib/ood/ood-scores.js";
import { devSplits, formatSuite, oodSuite, suiteInSpec, suitePairs } from "../../lib/ood/suite.js";
import { aurocStandardError } from "../../lib/ood/metrics.js";
import { loadSet } from "../../lib/ood/sets.js";
import { SCORE_NAMES } from "../../lib/ood/scores.js";
import { runCli } from "../../bin/cli.js";
import { SHARED_DATASETS } from "../paths.js";

const data = { env: { TORCHTS_OOD_DATA: SHARED_DATASETS } };
const dir = mkdtempSync(join(tmpdir(), "torchts-ood-"));
const train = (kind: "glow" | "vae", name: string, seed: number, dataset = "fashion-mnist", trainSplit = "train", background = false) =>
  trainRun({
    kind,
    preset: "tiny",
    dataset,
    trainSplit,
    out: join(dir, name),
    seed,
    quiet: true,
    data,
    evalSplits: [],
    overrides: { steps: 3, checkpointEvery: 3, logEvery: 3 },
    ...(background ? { background: { mutationRate: 0.2, l2: 1e-4 } } : {}),
  });
const base = { in: "fashion-mnist:test", ood: "mnist:test", heldOut: "fashion-mnist:train[:40]", limit: 40, data };

beforeAll(async () => {
  await train("glow", "glow", 1);
  await train("glow", "glow-2", 2);
  await train("glow", "glow-mnist", 1, "mnist", "test[:200]");
  await train("vae", "vae", 1);
  await train("glow", "glow-background", 3, "fashion-mnist", "train", true);
}, 120_000);
afterEach(() => vi.restoreAllMocks());

describe("oodScores", () => {
  it("computes every score that applies, with metrics, throughput and thresholds, and writes per-example scores", async () => {
    const r = await oodScores({ run: join(dir, "glow"), ensemble: [join(dir, "glow-2")], ...base });
    expect(r.n).toEqual({ heldOut: 40, in: 40, ood: 40 });
    expect(Object.keys(r.scores).sort()).toEqual([
      "combined",
      "combined-tests",
      "flow-terms",
      "input-complexity",
      "input-complexity-brotli",
      "input-complexity-webp",
      "log-likelihood",
      "typicality",
      "waic",
    ]);
    expect(Object.keys(r.skipped).sort()).toEqual(["likelihood-ratio", "likelihood-regret"]);
    for (const m of Object.values(r.scores)) {
      for (const v of [m.auroc, m.auprIn, m.auprOut, m.fpr95]) expect(v >= 0 && v <= 1).toBe(true);
      expect(m.imagesPerSecond).toBeGreaterThan(0);
      expect(Number.isNaN(m.threshold)).toBe(false);
    }
    expect(Object.keys(r.batchScores)).toEqual(["typicality-2", "typicality-5", "typicality-10", "typicality-25"]);
    expect(r.batchScores["typicality-10"]!.batches).toEqual({ in: 4, ood: 4 });
    const file = JSON.parse(readFileSync(join(dir, "glow", "ood", oodFileName(base.heldOut, base.in, base.ood, base.limit)), "utf8"));
    expect(oodFileName(base.heldOut, base.in, base.ood, base.limit)).toBe("fashion-mnist_train_40___fashion-mnist_test__mnist_test_limit40.json");
    // The combined detector's Gaussian is stored: a flow's per-code log p(z), its log-det and the codecs' lengths.
    expect(file.combined.names.slice(0, 3)).toEqual(["log p(z) code 1", "log p(z) code 2", "log-det"]);
    expect(file.combined.names.filter((n: string) => n.endsWith("bits/dim")).length).toBeGreaterThanOrEqual(2);
    expect(file.perExample["log-likelihood"].ood).toHaveLength(40);
    expect(file.scores.waic.auroc).toBe(r.scores.waic!.auroc);
  });

  it("refuses a background model of another data set, computes the ratio with one of the same, and Likelihood Regret for a VAE", async () => {
    // A background model must share the image shape and training data set: glow-mnist is refused.
    await expect(oodScores({ run: join(dir, "glow"), background: join(dir, "glow-mnist"), ...base })).rejects.toThrow(
      /background model .*glow-mnist was trained on mnist:test\[:180\], the run on fashion-mnist:train/,
    );
    // A model of the data is not a background model (trained on mutated inputs), nor the other way round.
    await expect(oodScores({ run: join(dir, "glow"), background: join(dir, "glow-2"), ...base })).rejects.toThrow(/glow-2 is not a background run/);
    await expect(oodScores({ run: join(dir, "glow-background"), ...base })).rejects.toThrow(/glow-background is a background run/);
    const ratio = await oodScores({ run: join(dir, "glow"), background: join(dir, "glow-background"), scores: ["likelihood-ratio"], ...base });
    expect(ratio.scores["likelihood-ratio"]!.auroc).toBeGreaterThanOrEqual(0);
    const vae = await oodScores({ run: join(dir, "vae"), scores: ["likelihood-regret", "flow-terms"], regretLimit: 6, regret: { steps: 2 }, ...base });
    expect(vae.n.in).toBe(40);
    expect(vae.scores["likelihood-regret"]!.auroc).toBeGreaterThanOrEqual(0);
    expect(vae.skipped["flow-terms"]).toMatch(/flows only/);
  });

  it("scores the synthetic probes: constant, uniform and grayed images", async () => {
    for (const ood of ["constant", "uniform", "grayed:0.3"]) {
      const r = await oodScores({ run: join(dir, "glow"), ...base, ood, scores: ["log-likelihood", "input-complexity"], write: false });
      expect(r.n.ood, ood).toBe(40);
      expect(r.scores["input-complexity"]!.auroc).toBeGreaterThanOrEqual(0);
    }
  });

  it("fits on the run's validation split by default, and refuses a held-out set that overlaps the tested sets", async () => {
    const { heldOut: _, ...noHeldOut } = base;
    const r = await oodScores({ run: join(dir, "glow"), ...noHeldOut, scores: ["log-likelihood"], write: false });
    expect(r.heldOut).toBe("fashion-mnist:train[-5000:]");
    // The held-out set is where thresholds come from: never the in-distribution test set, nor the OOD set.
    for (const [heldOut, tested] of [
      ["fashion-mnist:test", "fashion-mnist:test"],
      ["fashion-mnist:test[30:]", "fashion-mnist:test"],
      ["mnist:test[:100]", "mnist:test"],
    ] as const)
      await expect(oodScores({ run: join(dir, "glow"), ...base, heldOut, write: false })).rejects.toThrow(
        new RegExp(`held-out set ${heldOut.replace(/[[\]]/g, "\\$&")} overlaps ${tested}, a set being tested`),
      );
    // Disjoint ranges of one split are fine.
    const ok = await oodScores({
      run: join(dir, "glow"),
      ...base,
      in: "fashion-mnist:test[:40]",
      heldOut: "fashion-mnist:test[40:80]",
      scores: ["log-likelihood"],
      write: false,
    });
    expect(ok.n.heldOut).toBe(40);
  });

  it("says how to use a run trained before validation splits, and writes nothing", async () => {
    await trainRun({
      kind: "glow",
      preset: "tiny",
      out: join(dir, "old"),
      seed: 1,
      quiet: true,
      data,
      evalSplits: [],
      valSplit: "none",
      overrides: { steps: 2, checkpointEvery: 2, logEvery: 2 },
    });
    const { heldOut: _, ...noHeldOut } = base;
    await expect(oodScores({ run: join(dir, "old"), ...noHeldOut })).rejects.toThrow(/has no validation split .*pass --held-out DATASET:SPLIT/);
    expect(existsSync(join(dir, "old", "ood"))).toBe(false);
  });

  it("runs the suite: every pair of the data set, each score's worst pair with the flipped pair left out", async () => {
    const r = await oodSuite({ run: join(dir, "glow"), limit: 30, data, quiet: true, scores: ["log-likelihood", "combined"] });
    expect(r.pairs).toEqual(["mnist:test", "constant", "uniform", "grayed:0.5", "inverted", "vflip"]);
    expect(r.in).toBe("fashion-mnist:test");
    expect(r.heldOut).toBe("fashion-mnist:train[-5000:]");
    for (const name of ["log-likelihood", "combined"]) {
      const sc = r.scores[name]!;
      expect(Object.keys(sc.byPair)).toEqual(r.pairs);
      const judged = r.pairs.filter((p) => p !== "vflip").map((p) => sc.byPair[p]!.auroc);
      expect(sc.worstAuroc).toBe(Math.min(...judged));
      expect(sc.worstPair).not.toBe("vflip");
      // Each pair's AUROC has DeLong's standard error (0 where the classes do not overlap), from that pair's own scores.
      const pairReport = r.reports.find((x) => x.ood === sc.worstPair)!;
      const each = pairReport.perExample[name as "combined"]!;
      expect(sc.byPair[sc.worstPair]!.aurocSe).toBe(aurocStandardError(each.in, each.ood));
      for (const p of r.pairs) expect(sc.byPair[p]!.aurocSe).toBeGreaterThanOrEqual(0);
    }
    expect(formatSuite(r)).toMatch(new RegExp(`${r.scores["combined"]!.worstAuroc.toFixed(3)} \\+- \\d\\.\\d{3} \\(`));
    // An MNIST run trained on test[:180] and validated on test[180:200] is tested on what is left.
    expect(await suiteInSpec("mnist:test[:180]", "mnist:test[180:200]", data)).toBe("mnist:test[200:]");
    // Trained on some classes: tested on those classes.
    expect(await suiteInSpec("mnist:test[:180]{0-4}", "mnist:test[180:200]{0-4}", data)).toBe("mnist:test[200:]{0-4}");
    expect(suitePairs("mnist")[0]).toBe("fashion-mnist:test");
    expect(() => suitePairs("celeba")).toThrow(/no OOD data set pairs with celeba .*--ood/);
  });

  it("runs the development pairs on the validation split's halves, never on the test split or the suite's pairs", async () => {
    const r = await oodSuite({ run: join(dir, "glow"), limit: 30, data, quiet: true, scores: ["combined", "combined-tests"], dev: true });
    expect(r.pairs).toEqual(["noise:24", "blur", "binarized", "saltpepper:0.05"]);
    expect(r.heldOut).toBe("fashion-mnist:train[55000:57500]");
    expect(r.in).toBe("fashion-mnist:train[57500:60000]");
    for (const name of ["combined", "combined-tests"]) expect(Object.keys(r.scores[name]!.byPair)).toEqual(r.pairs);
    expect(await devSplits("mnist:test[5000:7500]", data)).toEqual({ fit: "mnist:test[5000:6250]", in: "mnist:test[6250:7500]" });
    await expect(devSplits("mnist:test[0:150]", data)).rejects.toThrow(/has 150 images; halving it needs at least 200/);
    // A run trained on some classes meets the others as a development pair, never the test split.
    await trainRun({
      kind: "glow",
      preset: "tiny",
      dataset: "mnist",
      trainSplit: "test[:200]{0-4}",
      valSplit: "test[200:600]{0-4}",
      out: join(dir, "glow-digits-0-4"),
      seed: 1,
      quiet: true,
      data,
      evalSplits: [],
      overrides: { steps: 3, checkpointEvery: 3, logEvery: 3 },
    });
    const some = await oodSuite({ run: join(dir, "glow-digits-0-4"), limit: 30, data, quiet: true, scores: ["combined"], dev: true });
    expect(some.pairs).toEqual(["noise:24", "blur", "binarized", "saltpepper:0.05", "mnist:test[200:600]{5-9}"]);
    expect([some.heldOut, some.in]).toEqual(["mnist:test[200:400]{0-4}", "mnist:test[400:600]{0-4}"]);
    const unseen = some.scores.combined!.byPair["mnist:test[200:600]{5-9}"]!;
    expect(unseen.auroc >= 0 && unseen.auroc <= 1 && unseen.aurocSe > 0).toBe(true);
    // A validation split of some classes adds the unseen classes of its whole range: a semantic shift.
    expect(await devSplits("mnist:test[5000:7500]{0-4}", data)).toEqual({
      fit: "mnist:test[5000:6250]{0-4}",
      in: "mnist:test[6250:7500]{0-4}",
      unseen: "mnist:test[5000:7500]{5-9}",
    });
    expect(await devSplits("mnist:test[5000:7500]{0-9}", data)).toEqual({ fit: "mnist:test[5000:6250]{0-9}", in: "mnist:test[6250:7500]{0-9}" });
  });

  it("makes the development probes from the in-distribution images", async () => {
    const img = Uint8Array.from([0, 100, 200, 255, 50, 130, 127, 128, 90]);
    const inDist = { name: "t", split: "test", images: img, n: 1, channels: 1, height: 3, width: 3 };
    expect(Array.from((await loadSet("binarized", inDist)).images)).toEqual([0, 0, 255, 255, 0, 255, 0, 255, 0]);
    // A 3x3 box blur with the border replicated: the centre is the mean of all nine.
    const blur = (await loadSet("blur", inDist)).images;
    expect(blur[4]).toBe(Math.round(img.reduce((a, b) => a + b, 0) / 9));
    expect(blur[0]).toBe(Math.round((4 * 0 + 2 * 100 + 2 * 255 + 50) / 9));
    const big = { ...inDist, images: new Uint8Array(18000).fill(128), n: 2000 };
    const noisy = (await loadSet("noise:24", big)).images;
    const sd = Math.sqrt(noisy.reduce((a, v) => a + (v - 128) ** 2, 0) / noisy.length);
    expect(Math.abs(sd - 24)).toBeLessThan(1);
    expect(Array.from((await loadSet("noise:24", big)).images)).toEqual(Array.from(noisy)); // seeded
    const sp = (await loadSet("saltpepper:0.1", big)).images;
    expect(Math.abs(sp.filter((v) => v !== 128).length / sp.length - 0.1)).toBeLessThan(0.01);
    await expect(loadSet("noise:0", inDist)).rejects.toThrow(/standard deviation must be in \(0, 255\]/);
    await expect(loadSet("saltpepper:2", inDist)).rejects.toThrow(/fraction of pixels must be in \(0, 1\]/);
  });

  it("takes a folder of the user's images as a set, in the model's channels and size only", async () => {
    const folder = mkdtempSync(join(tmpdir(), "torchts-ood-folder-"));
    const png = (w: number, h: number, rgb: [number, number, number]) => {
      const p = new PNG({ width: w, height: h });
      for (let i = 0; i < w * h; i++) p.data.set([...rgb, 255], i * 4);
      return PNG.sync.write(p);
    };
    writeFileSync(join(folder, "a.png"), png(3, 3, [10, 10, 10]));
    writeFileSync(join(folder, "b.png"), png(3, 3, [255, 0, 0])); // colour: BT.601 luma for a gray model
    const inDist = { name: "t", split: "test", images: new Uint8Array(9), n: 1, channels: 1, height: 3, width: 3 };
    const set = await loadSet(`folder:${folder}`, inDist);
    expect([set.n, set.channels, set.height, set.width]).toEqual([2, 1, 3, 3]);
    expect([set.images[0], set.images[9]]).toEqual([10, 76]);
    await expect(loadSet(`folder:${folder}`, { ...inDist, height: 4, width: 4 })).rejects.toThrow(
      /its images are 3x3, the model's 4x4; resize them beforehand/,
    );
    await expect(loadSet(`folder:${join(folder, "none")}`, inDist)).rejects.toThrow(/cannot list the folder/);
    await expect(loadSet("folder:", inDist)).rejects.toThrow(/'folder:' needs a path/);
  });

  it("refuses an ensemble of one, a member listed twice, and a split that does not exist, naming the argument", async () => {
    await expect(oodScores({ run: join(dir, "glow"), ensemble: [], ...base })).rejects.toThrow(/--ensemble: an ensemble of one/);
    await expect(oodScores({ run: join(dir, "glow"), ensemble: [join(dir, "glow")], ...base })).rejects.toThrow(/--ensemble: .*glow is listed twice/);
    await expect(oodScores({ run: join(dir, "glow"), ...base, ood: "mnist:validation" })).rejects.toThrow(/Bad split "validation"/);
    await expect(oodScores({ run: join(dir, "glow"), ...base, ood: "mnsit" })).rejects.toThrow(/unknown data set 'mnsit'/);
    await expect(oodScores({ run: join(dir, "glow"), ...base, in: "fashion-mnist" })).rejects.toThrow(/--in fashion-mnist: expected DATASET:SPLIT/);
    await expect(oodScores({ run: join(dir, "glow"), ...base, ood: "grayed:2" })).rejects.toThrow(/graying factor must be in \[0, 1\]/);
  });
});

describe("torchts-ood ood", () => {
  async function cli(...args: string[]) {
    const out: string[] = [],
      err: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
    vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
    const code = await runCli(args);
    vi.restoreAllMocks();
    return { code, out: out.join("\n"), err: err.join("\n") };
  }
  const env = () => {
    process.env.TORCHTS_OOD_DATA = SHARED_DATASETS;
  };

  it("prints the JSON object of the issue: in, ood, scores by name, batchScores", async () => {
    env();
    const r = await cli(
      "ood",
      join(dir, "glow"),
      "--in",
      "fashion-mnist:test",
      "--ood",
      "mnist:test",
      "--held-out",
      "fashion-mnist:train[:30]",
      "--limit",
      "30",
      "--json",
    );
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.in).toBe("fashion-mnist:test");
    expect(j.ood).toBe("mnist:test");
    expect(Object.keys(j.scores["log-likelihood"]).sort()).toEqual(["auprIn", "auprOut", "auroc", "fpr95", "imagesPerSecond", "threshold"]);
    expect(Object.keys(j.batchScores)).toContain("typicality-25");
    for (const name of Object.keys(j.scores)) expect(SCORE_NAMES).toContain(name);
  });

  it("prints a table, and one-line errors for bad flags", async () => {
    env();
    const t = await cli(
      "ood",
      join(dir, "glow"),
      "--in",
      "fashion-mnist:test",
      "--ood",
      "constant",
      "--held-out",
      "fashion-mnist:train[:20]",
      "--limit",
      "20",
      "--scores",
      "log-likelihood,typicality",
    );
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/^log-likelihood +\d\.\d{3}/m);
    expect(t.out).toMatch(/OOD is the positive class/);
    const cases: [string[], RegExp][] = [
      [["--scores", "nope"], /--scores: unknown score 'nope'/],
      [["--limit", "0"], /--limit must be a positive integer, got 0/],
      [["--background", join(dir, "missing")], /--background: no run folder at/],
      [["--ensemble", join(dir, "missing")], /--ensemble: no run folder at/],
    ];
    for (const [extra, re] of cases) {
      const r = await cli("ood", join(dir, "glow"), "--in", "fashion-mnist:test", "--ood", "mnist:test", ...extra);
      expect(r.code, extra.join(" ")).toBe(1);
      expect(r.err, extra.join(" ")).toMatch(re);
    }
    for (const [args, re] of [
      [["--suite", "--dev"], /--suite and --dev are two different sets of pairs/],
      [["--dev", "--in", "fashion-mnist:test"], /--dev chooses the pairs itself: leave out --in and --ood/],
      [[], /give --in and --ood \(one pair\), --suite \(every pair\) or --dev/],
    ] as [string[], RegExp][]) {
      const r = await cli("ood", join(dir, "glow"), ...args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.err, args.join(" ")).toMatch(re);
    }
    expect(existsSync(join(dir, "glow", "ood"))).toBe(true);
  });
});
