// One worker of a ScoringPool: its own copy of the model and its own LibTorch thread count. It scores
// each batch the pool sends and, when the pool serves an OOD score, computes that score too (input
// complexity compresses every image: better here than on the event loop).
import { parentPort, workerData } from "node:worker_threads";
import { setPriority } from "node:os";
import * as torch from "../tensor/index.js";
import { openRun } from "../train/run.js";
import { dimsOf } from "../models/density.js";
import { computeScores, type OodRule } from "./ood-rule.js";

interface Init {
  dir: string;
  threads: number;
  nice: number;
  rule?: OodRule;
}
export interface BatchRequest {
  id: number;
  x: Float32Array;
  n: number;
}
export interface BatchAnswer {
  id: number;
  logPx: Float64Array;
  bitsPerDim: Float64Array;
  logPz?: Float64Array;
  logDet?: Float64Array;
  score?: Float64Array;
  error?: string;
}

const init = workerData as Init;
// Below the event loop's thread (Linux nice is per thread): when cores are short, the thread that takes
// requests and answers them runs first, and scoring takes the rest.
try {
  setPriority(0, init.nice);
} catch {
  /* not permitted here: score at the default priority */
}
torch.setNumThreads(init.threads);
const run = openRun(init.dir, "cpu");
const shape = run.model.imageShape;
const dims = dimsOf(shape);
parentPort!.postMessage({ ready: true, kind: run.config.kind, step: run.step, imageShape: [...shape] });

parentPort!.on("message", async (m: BatchRequest | { close: true }) => {
  if ("close" in m) {
    run.model.dispose();
    parentPort!.close();
    return;
  }
  try {
    const out = torch.tidy(() =>
      torch.noGrad(() => {
        const r = run.model.logLikelihood(torch.tensor(m.x, { shape: [m.n, ...shape] }));
        const f = (t?: torch.Tensor) => (t ? (t.double().data() as Float64Array) : undefined);
        return { logPx: f(r.logPx)!, logPz: f(r.logPz), logDet: f(r.logDet), logPzLevels: r.logPzLevels?.map((l) => f(l)!) };
      }),
    );
    const answer: BatchAnswer = { id: m.id, logPx: out.logPx, bitsPerDim: out.logPx.map((v) => -v / (dims * Math.LN2)) };
    if (out.logPz) answer.logPz = out.logPz;
    if (out.logDet) answer.logDet = out.logDet;
    if (init.rule) {
      // Bin centres (p + 0.5) / 256 give back the 8-bit pixel p exactly; other values in [0, 1] their bin.
      const pixels = Uint8Array.from(m.x, (v) => Math.min(255, Math.floor(v * 256)));
      answer.score = await computeScores(init.rule, { ...answer, ...(out.logPzLevels ? { logPzLevels: out.logPzLevels } : {}) }, pixels, shape);
    }
    const buffers = [answer.logPx, answer.bitsPerDim, answer.logPz, answer.logDet, answer.score].filter((a) => a).map((a) => a!.buffer as ArrayBuffer);
    parentPort!.postMessage(answer, buffers);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
