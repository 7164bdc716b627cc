// The worker side of Scorer: owns a loaded run and scores batches posted to it, so a service's event
// loop never waits on LibTorch.
import { parentPort, workerData } from "node:worker_threads";
import * as torch from "../tensor/index.js";
import { openRun } from "../train/run.js";
import { dimsOf } from "../models/density.js";
import { checkImageShape } from "./check-batch.js";

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
    const out = torch.tidy(() =>
      torch.noGrad(() => {
        const r = run.model.logLikelihood(torch.tensor(m.x, { shape: m.shape }));
        const f = (t?: torch.Tensor) => (t ? (t.double().data() as Float64Array) : undefined);
        return { logPx: f(r.logPx)!, logPz: f(r.logPz), logDet: f(r.logDet) };
      }),
    );
    const bitsPerDim = out.logPx.map((v) => -v / (dims * Math.LN2));
    parentPort!.postMessage({ id: m.id, ...out, bitsPerDim });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message, errorName: (e as Error).name });
  }
});
