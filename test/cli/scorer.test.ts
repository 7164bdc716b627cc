// Scoring in a worker thread: the event loop keeps running while a batch is scored, and the scores
// equal those computed in the main thread.
import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Scorer } from "../../lib/serve/scorer.js";
import { trainRun, openRun } from "../../lib/train/run.js";
import * as torch from "../../lib/tensor/index.js";
import { SHARED_DATASETS } from "../paths.js";

describe("Scorer", () => {
  it("scores batches off the event loop with the same numbers as in-process", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "torchts-scorer-")), "run");
    await trainRun({ kind: "glow", preset: "tiny", out, quiet: true, overrides: { steps: 4 }, evalSplits: [], data: { dataDir: SHARED_DATASETS } });
    const scorer = new Scorer(out);
    expect((await scorer.ready).kind).toBe("glow");
    const x = new Float32Array(8 * 784).map((_, i) => ((i * 37) % 256 + 0.5) / 256);
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
});
