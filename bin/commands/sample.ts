// `torchts-ood sample DIR -n 64 --out samples.png`: an image grid of model samples.
import type { CommandModule } from "yargs";
import { writeFileSync } from "node:fs";
import { applyThreads, positiveInt, positiveNumber } from "./options.js";

interface SampleArgs {
  dir: string;
  n: number;
  out: string;
  temperature: number;
  seed: number;
  threads?: number;
}

export const sampleCommand: CommandModule<object, SampleArgs> = {
  command: "sample <dir>",
  describe: "Write a grid of samples from a trained run as a PNG",
  builder: (y) =>
    y
      .positional("dir", { type: "string", demandOption: true })
      .option("n", { alias: "num", type: "number", default: 64, describe: "number of samples" })
      .option("out", { type: "string", default: "samples.png" })
      .option("temperature", { type: "number", default: 1, describe: "prior std multiplier (flows; Glow used 0.7)" })
      .option("seed", { type: "number", default: 0 })
      .option("threads", { type: "number", describe: "LibTorch threads (default: one per core)" }) as never,
  handler: async (a) => {
    applyThreads(a.threads);
    // Imported here, not at the top: --help must not load the model stack.
    const [torch, { openRun }, { imageGridPng }] = await Promise.all([
      import("../../lib/tensor/index.js"),
      import("../../lib/train/run.js"),
      import("../../lib/viz/grid.js"),
    ]);
    const n = positiveInt("n", a.n)!;
    const temperature = positiveNumber("temperature", a.temperature)!;
    const run = openRun(a.dir);
    try {
      torch.manualSeed(a.seed);
      const png = torch.tidy(() => imageGridPng(run.model.sample(n, { temperature }).cpu()));
      writeFileSync(a.out, png);
      console.log(`wrote ${n} samples of ${run.config.kind} (step ${run.step}) to ${a.out}`);
    } finally {
      run.model.dispose();
    }
  },
};
