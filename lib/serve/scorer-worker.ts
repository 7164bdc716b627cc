// The worker side of Scorer: owns a loaded run and scores batches posted to it, so a service's event
// loop never waits on LibTorch.
import { parentPort, workerData } from "node:worker_threads";
import * as torch from "../tensor/index.js";
import { openRun } from "../train/run.js";
import { dimsOf } from "../models/density.js";
import { checkImageShape, SCORE_CHUNK } from "./check-batch.js";

interface Init {
  dir: string;
  threads?: number;
}
interface Request {
  id: number;
  x: Float32Array;
  shape: number[];
}

const init = workerData as Init;
if (init.threads) torch.setNumThreads(init.threads);
const run = openRun(init.dir, "cpu");
const dims = dimsOf(run.model.imageShape);
parentPort!.postMessage({ ready: true, kind: run.config.kind, step: run.step, imageShape: run.model.imageShape });

parentPort!.on("message", (m: Request | { close: true }) => {
  if ("close" in m) {
    run.model.dispose();
    parentPort!.close();
    return;
  }
  try {
    // The main thread has checked the values; the model's size is known here.
    checkImageShape(m.shape, run.model.imageShape, run.config.kind);
    // In chunks of SCORE_CHUNK images: the model's activations are held for one chunk at a time, so a
    // large batch costs its pixels and scores, not the activations of every image at once.
    const [b, ...chw] = m.shape as [number, number, number, number];
    const per = chw[0] * chw[1] * chw[2];
    const out: { logPx: Float64Array; logPz?: Float64Array; logDet?: Float64Array } = { logPx: new Float64Array(b) };
    for (let start = 0; start < b; start += SCORE_CHUNK) {
      const n = Math.min(SCORE_CHUNK, b - start);
      torch.tidy(() =>
        torch.noGrad(() => {
          const x = torch.tensor(m.x.subarray(start * per, (start + n) * per), { shape: [n, ...chw] });
          const r = run.model.logLikelihood(x);
          for (const k of ["logPx", "logPz", "logDet"] as const) {
            const t = r[k];
            if (!t) continue;
            (out[k] ??= new Float64Array(b)).set(t.double().data() as Float64Array, start);
          }
        }),
      );
    }
    const bitsPerDim = out.logPx.map((v) => -v / (dims * Math.LN2));
    parentPort!.postMessage({ id: m.id, ...out, bitsPerDim });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message, errorName: (e as Error).name });
  }
});
