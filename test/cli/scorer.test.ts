// Scoring in a worker thread: the event loop keeps running while a batch is scored, and the scores
// equal those computed in the main thread. Batches the model cannot score are refused with an error
// that says what was expected, and every call settles, whether the Scorer is closed or its worker dies.
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { Scorer } from "../../lib/serve/scorer.js";
import { MAX_SCORE_VALUES, SCORE_CHUNK } from "../../lib/serve/check-batch.js";
import { trainRun, openRun } from "../../lib/train/run.js";
import * as torch from "../../lib/tensor/index.js";
import { SHARED_DATASETS } from "../paths.js";

/** p, or a rejection if p has not settled within ms (so a call that never settles fails fast). */
const within = <T>(p: Promise<T>, ms = 5000): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
};

/** 8-bit pixels as the bin centres the models expect. */
const mnistLike = (n: number) => new Float32Array(n * 784).map((_, i) => (((i * 37) % 256) + 0.5) / 256);

describe("Scorer", () => {
  let out = "";
  beforeAll(async () => {
    out = join(mkdtempSync(join(tmpdir(), "torchts-scorer-")), "run");
    await trainRun({ kind: "glow", preset: "tiny", out, quiet: true, overrides: { steps: 4 }, evalSplits: [], data: { dataDir: SHARED_DATASETS } });
  });

  it("scores batches off the event loop with the same numbers as in-process", async () => {
    const scorer = new Scorer(out);
    expect((await scorer.ready).kind).toBe("glow");
    const x = mnistLike(8);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const pending = Promise.all(Array.from({ length: 20 }, () => scorer.score(x, [8, 1, 28, 28])));
    const all = await pending;
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    const run = openRun(out, "cpu");
    const ref = torch.tidy(() => torch.noGrad(() => run.model.logLikelihood(torch.tensor(x, { shape: [8, 1, 28, 28] })).logPx.toFlatArray()));
    run.model.dispose();
    for (let i = 0; i < 8; i++) expect(all[0]!.logPx[i]).toBeCloseTo(ref[i]!, 2);
    await expect(scorer.score(x, [3, 1, 28, 28])).rejects.toThrow(/do not fill/);
    await scorer.close();
  });

  describe("refuses batches the model cannot score, saying what it expected", () => {
    let scorer: Scorer;
    beforeAll(async () => {
      scorer = new Scorer(out);
      await scorer.ready;
      return () => scorer.close();
    });

    it("images of another size than the model's [C, H, W]", async () => {
      // a 28x28 model would score a 32x32 image (convolutions take any size) and divide by 784
      const x = new Float32Array(2 * 32 * 32).fill(0.5);
      await expect(within(scorer.score(x, [2, 1, 32, 32]))).rejects.toThrow(/\[1, 28, 28\].*got \[1, 32, 32\]/);
      await expect(within(scorer.score(new Float32Array(2 * 3 * 784), [2, 3, 28, 28]))).rejects.toThrow(/\[1, 28, 28\].*got \[3, 28, 28\]/);
    });

    it("shapes that are not [B, C, H, W] of positive integers", async () => {
      await expect(within(scorer.score(new Float32Array(784), [1, 784] as never))).rejects.toThrow(/\[B, C, H, W\].*got \[1,784\]/);
      await expect(within(scorer.score(new Float32Array(0), [0, 1, 28, 28]))).rejects.toThrow(/\[B, C, H, W\]/);
    });

    it("NaN and infinite pixels, naming the first one", async () => {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const x = mnistLike(2);
        x[784 + 28 * 3 + 5] = bad; // image 1, row 3, column 5
        await expect(within(scorer.score(x, [2, 1, 28, 28]))).rejects.toThrow(new RegExp(`${bad}.*image 1.*\\[0, 3, 5\\].*\\[0, 1\\]`));
      }
    });

    it("0-255 pixels where values in [0, 1] are expected, saying how to convert them", async () => {
      const x = new Float32Array(2 * 784).map((_, i) => (i * 37) % 256);
      await expect(within(scorer.score(x, [2, 1, 28, 28]))).rejects.toThrow(/\[0, 1\].*got 37.*\(p \+ 0\.5\) \/ 256/);
      const negative = mnistLike(1);
      negative[0] = -0.25;
      await expect(within(scorer.score(negative, [1, 1, 28, 28]))).rejects.toThrow(/\[0, 1\].*got -0\.25/);
    });

    it("pixel arrays of another type than Float32Array", async () => {
      const bytes = new Uint8Array(784);
      await expect(within(scorer.score(bytes as never, [1, 1, 28, 28]))).rejects.toThrow(/Float32Array.*got Uint8Array/);
      await expect(within(scorer.score(new Float64Array(784).fill(0.5) as never, [1, 1, 28, 28]))).rejects.toThrow(/Float32Array.*got Float64Array/);
      await expect(within(scorer.score(Array(784).fill(0.5) as never, [1, 1, 28, 28]))).rejects.toThrow(/Float32Array.*got Array/);
    });

    it("more values in one call than MAX_SCORE_VALUES (20,000 images ran out of memory), saying how to split them", async () => {
      const n = Math.floor(MAX_SCORE_VALUES / 784) + 1;
      await expect(within(scorer.score(new Float32Array(784), [n, 1, 28, 28]))).rejects.toThrow(
        new RegExp(
          `^score: ${n} images of \\[1, 28, 28\\] are ${n * 784} values, more than the ${MAX_SCORE_VALUES} one call takes; split them into batches of at most ${n - 1} images`,
        ),
      );
    });

    it("scores a batch larger than SCORE_CHUNK in chunks, with the scores of the images one by one", async () => {
      const n = SCORE_CHUNK + 3;
      const x = mnistLike(n);
      const all = await within(scorer.score(x, [n, 1, 28, 28]), 30_000);
      const last = await within(scorer.score(x.subarray((n - 1) * 784), [1, 1, 28, 28]));
      const first = await within(scorer.score(x.subarray(0, 784), [1, 1, 28, 28]));
      expect(all.logPx.length).toBe(n);
      expect(all.logPx[n - 1]).toBeCloseTo(last.logPx[0]!, 2); // float32 sums in another order: 1e-2 nats
      expect(all.logPx[0]).toBeCloseTo(first.logPx[0]!, 2);
    });

    it("still scores good batches after refusing bad ones", async () => {
      const s = await within(scorer.score(mnistLike(2), [2, 1, 28, 28]));
      expect(Array.from(s.bitsPerDim).every(Number.isFinite)).toBe(true);
    });
  });

  describe("every call settles", () => {
    it("batches asked for before close() are scored; score() after close() rejects; close() twice is fine", async () => {
      const scorer = new Scorer(out);
      const before = [scorer.score(mnistLike(2), [2, 1, 28, 28]), scorer.score(mnistLike(2), [2, 1, 28, 28])];
      const closed = scorer.close();
      const results = await within(Promise.allSettled(before));
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
      await within(closed);
      await expect(within(scorer.score(mnistLike(1), [1, 1, 28, 28]))).rejects.toThrow(/closed.*new Scorer/);
      await within(scorer.close());
    });

    it("pending calls reject when the worker dies", async () => {
      const scorer = new Scorer(out);
      await scorer.ready;
      const pending = Array.from({ length: 10 }, () => scorer.score(mnistLike(32), [32, 1, 28, 28]));
      // what a crash or an embedder's terminate() does: the thread is gone without a reply
      await (scorer as unknown as { worker: Worker }).worker.terminate();
      const results = await within(Promise.allSettled(pending));
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(rejected.length).toBeGreaterThan(0);
      for (const r of rejected) expect(String(r.reason)).toMatch(/worker stopped.*new Scorer/);
      await expect(within(scorer.score(mnistLike(1), [1, 1, 28, 28]))).rejects.toThrow(/worker stopped/);
      await within(scorer.close());
    });

    it("a run that cannot be loaded rejects ready and every score", async () => {
      const scorer = new Scorer(join(out, "no-such-run"));
      const first = scorer.score(mnistLike(1), [1, 1, 28, 28]);
      await expect(within(scorer.ready)).rejects.toThrow(/not a run folder/);
      await expect(within(first)).rejects.toThrow(/not a run folder/);
      await expect(within(scorer.score(mnistLike(1), [1, 1, 28, 28]))).rejects.toThrow(/not a run folder/);
      await within(scorer.close());
    });
  });
});
