// `torchts-ood eval DIR`: the paper's Figure 1 table for a trained run.
import type { CommandModule } from "yargs";
import { existsSync } from "node:fs";
import { applyThreads, dataOptions, deviceOption, positiveInt } from "./options.js";

interface EvalArgs {
  dir: string;
  splits?: string;
  json: boolean;
  limit?: number;
  "batch-size"?: number;
  device?: string;
  "data-dir"?: string;
  download: boolean;
  threads?: number;
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: "eval <dir>",
  describe: "Bits/dim (and log p(z), log-det for flows) of a trained run on named splits",
  builder: (y) =>
    y
      .positional("dir", { type: "string", demandOption: true, describe: "run folder written by `train`" })
      .option("splits", { type: "string", describe: "comma-separated DATASET:SPLIT list (default: train, test and the OOD test set)" })
      .option("json", { type: "boolean", default: false, describe: "print one JSON object on stdout" })
      .option("limit", { type: "number", describe: "score only the first N images of each split" })
      .option("batch-size", { type: "number", default: 256 })
      .option("device", { type: "string" })
      .option("data-dir", { type: "string" })
      .option("threads", { type: "number", describe: "LibTorch threads (default: one per core)" })
      .option("download", { type: "boolean", default: false }) as never,
  handler: async (a) => {
    applyThreads(a.threads);
    if (!existsSync(a.dir)) throw new Error(`no run folder at ${a.dir}`);
    const device = deviceOption(a.device);
    // Imported here, not at the top: --help must not load the scoring stack.
    const { scoreRun, formatScores } = await import("../../lib/train/score.js");
    const scores = await scoreRun(a.dir, {
      ...(a.splits
        ? {
            splits: a.splits
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean),
          }
        : {}),
      ...(a.limit !== undefined ? { limit: positiveInt("limit", a.limit)! } : {}),
      batchSize: positiveInt("batch-size", a["batch-size"]) ?? 256,
      ...(device ? { device } : {}),
      data: dataOptions(a["data-dir"], a.download),
    });
    console.log(a.json ? JSON.stringify(scores) : formatScores(scores));
  },
};
