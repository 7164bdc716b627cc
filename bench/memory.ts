// Memory over a long run: resident set and live tensors after 100 and 2,000 training steps of the `cpu`
// Glow preset on FashionMNIST (the trainer's step, lib/train/step.ts), and after 1,000 calls of the scoring
// path (a forward pass over a batch).
import * as torch from "../lib/tensor/index.js";
import { BatchLoader } from "../lib/data/index.js";
import { createModel, presetFor } from "../lib/models/registry.js";
import { loadSplit, optimizerOf } from "../lib/train/run.js";
import { batchTensor } from "../lib/train/evaluate.js";
import { trainStep } from "../lib/train/step.js";

export interface MemoryResult {
  rss_mb_at_100: number;
  rss_mb_at_2000: number;
  rss_growth_pct: number;
  live_tensors_start: number;
  live_tensors_delta_per_step: number;
  rss_mb_scoring_at_100: number;
  rss_mb_scoring_at_1000: number;
  live_tensors_delta_per_score: number;
  /** The resident set every 500 steps, to see it stay level over a long run. */
  rss_mb_every_500: number[];
  /** V8's heap (heapTotal) at the same points: the JS side of the resident set, sized by V8 as it sees fit. */
  v8_heap_mb_every_500: number[];
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const rssMb = () => mb(process.memoryUsage().rss);

export async function memoryBench(o: { steps?: number; scoreCalls?: number } = {}): Promise<MemoryResult> {
  const steps = o.steps ?? 2000,
    calls = o.scoreCalls ?? 1000;
  const train = await loadSplit("fashion-mnist:train");
  const preset = presetFor("glow", "cpu", [1, 28, 28]);
  torch.manualSeed(0);
  const model = createModel(preset.model);
  const params = model.parameters();
  const opt = optimizerOf(preset.train, params);
  const loader = new BatchLoader(train, { batchSize: 32, seed: 0, dropLast: true, reuseBuffers: true });
  const live0 = torch.memory().liveTensors;
  let rss100 = 0,
    rss2000 = 0,
    maxDelta = 0;
  const trace: number[] = [],
    heapTrace: number[] = [];
  for (let s = 1; s <= steps; s++) {
    const before = torch.memory().liveTensors;
    const b = loader.next();
    // read every step, as the trainer does on the CPU
    torch.tidy(() => trainStep(model, opt, batchTensor(b.x, b.shape), { clipNorm: preset.train.clipNorm, params, read: true }));
    // the first step creates the optimizer's state; after that, nothing may accumulate
    if (s > 1) maxDelta = Math.max(maxDelta, torch.memory().liveTensors - before);
    if (s === 100) rss100 = rssMb();
    if (s === Math.min(2000, steps)) rss2000 = rssMb();
    if (s % 500 === 0) {
      trace.push(rssMb());
      heapTrace.push(mb(process.memoryUsage().heapTotal));
    }
    if (s % 16 === 0) await new Promise((r) => setImmediate(r));
  }
  model.train(false);
  const batch = loader.next();
  const x = batchTensor(batch.x, batch.shape).keep();
  let rssScore100 = 0,
    scoreDelta = 0;
  for (let i = 1; i <= calls; i++) {
    const before = torch.memory().liveTensors;
    const lp = torch.tidy(() => torch.noGrad(() => model.logLikelihood(x).logPx.data()));
    void lp;
    scoreDelta = Math.max(scoreDelta, torch.memory().liveTensors - before);
    if (i === 100) rssScore100 = rssMb();
  }
  const result: MemoryResult = {
    rss_mb_at_100: rss100,
    rss_mb_at_2000: rss2000,
    rss_growth_pct: Math.round(((rss2000 - rss100) / rss100) * 1000) / 10,
    live_tensors_start: live0,
    live_tensors_delta_per_step: maxDelta,
    rss_mb_scoring_at_100: rssScore100,
    rss_mb_scoring_at_1000: rssMb(),
    live_tensors_delta_per_score: scoreDelta,
    rss_mb_every_500: trace,
    v8_heap_mb_every_500: heapTrace,
  };
  x.dispose();
  model.dispose();
  opt.dispose();
  loader.dispose();
  return result;
}
