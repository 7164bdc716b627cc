// `node bench/conv_layout_models.mjs [KIND ...]` (after `npx tsc -p tsconfig.json`; default: vae realnvp glow):
// each model's `cpu` preset training step (the trainer's, batch 32, one thread, FashionMNIST) with every
// Conv2d forced channels-last against every Conv2d forced NCHW, 3 alternating runs of 8 steps: what decided
// which models ask for `channelsLast` (lib/nn/conv.ts). Needs TORCHTS_OOD_DATA or the default data folder.
import * as torch from "../dist/lib/tensor/index.js";
import { BatchLoader } from "../dist/lib/data/index.js";
import { createModel, presetFor } from "../dist/lib/models/registry.js";
import { loadSplit, optimizerOf } from "../dist/lib/train/run.js";
import { batchTensor } from "../dist/lib/train/evaluate.js";
import { trainStep } from "../dist/lib/train/step.js";
import { Conv2d } from "../dist/lib/nn/conv.js";

torch.setNumThreads(1);
const shipped = Conv2d.prototype.forward;
const forced = (channelsLast) =>
  function (x) {
    const own = this.channelsLast;
    Object.defineProperty(this, "channelsLast", { value: channelsLast, configurable: true });
    try {
      return shipped.call(this, x);
    } finally {
      Object.defineProperty(this, "channelsLast", { value: own, configurable: true });
    }
  };
const train = await loadSplit("fashion-mnist:train[:2000]");
const kinds = process.argv.slice(2).length ? process.argv.slice(2) : ["vae", "realnvp", "glow"];
for (const kind of kinds) {
  const preset = presetFor(kind, "cpu", [1, 28, 28]);
  torch.manualSeed(0);
  const model = createModel(preset.model);
  const params = model.parameters();
  const opt = optimizerOf(preset.train, params);
  const loader = new BatchLoader(train, { batchSize: 32, seed: 0, dropLast: true, reuseBuffers: true });
  const msPerStep = (n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const b = loader.next();
      torch.tidy(() => trainStep(model, opt, batchTensor(b.x, b.shape), { clipNorm: preset.train.clipNorm, params, read: true }));
    }
    return (performance.now() - t0) / n;
  };
  const runs = { "channels-last": [], NCHW: [] };
  for (let r = 0; r < 3; r++)
    for (const [arm, cl] of [
      ["channels-last", true],
      ["NCHW", false],
    ]) {
      Conv2d.prototype.forward = forced(cl);
      msPerStep(2);
      runs[arm].push(msPerStep(8).toFixed(1));
    }
  Conv2d.prototype.forward = shipped;
  console.log(`${kind}: ms a step, every Conv2d channels-last ${runs["channels-last"].join(" ")} | NCHW ${runs.NCHW.join(" ")}`);
  model.dispose();
}
