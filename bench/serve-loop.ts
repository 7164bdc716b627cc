// One plain scoring loop in a worker thread, for bench/serve.ts's ceiling: batches of 64 test images at
// bin centres, `threads` LibTorch threads, for `seconds`; posts the images per second.
import { parentPort, workerData } from "node:worker_threads";
import * as torch from "../lib/tensor/index.js";
import { openRun } from "../lib/train/run.js";

const { run, images, threads, seconds } = workerData as { run: string; images: Uint8Array; threads: number; seconds: number };
torch.setNumThreads(threads);
const r = openRun(run, "cpu");
const n = images.length / 784;
const x = Float32Array.from(images, (p) => (p + 0.5) / 256);
const once = () => torch.tidy(() => torch.noGrad(() => r.model.logLikelihood(torch.tensor(x, { shape: [n, 1, 28, 28] })).logPx.data()));
once(); // warm
let done = 0;
const t0 = performance.now();
while (performance.now() - t0 < seconds * 1000) {
  once();
  done += n;
}
parentPort!.postMessage(done / ((performance.now() - t0) / 1000));
r.model.dispose();
