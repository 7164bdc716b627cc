// `torchts-ood ood RUN --in SPLIT --ood SPLIT`: every OOD score of a run, with AUROC, AUPR and FPR95.
import type { CommandModule } from "yargs";
import { existsSync } from "node:fs";
import { applyThreads, dataOptions, deviceOption, positiveInt } from "./options.js";

interface OodArgs {
  run: string;
  in?: string;
  ood?: string;
  suite: boolean;
  dev: boolean;
  "held-out"?: string;
  background?: string;
  ensemble?: string[];
  scores: string;
  json: boolean;
  limit?: number;
  "regret-limit"?: number;
  "batch-size"?: number;
  device?: string;
  "data-dir"?: string;
  download: boolean;
  threads?: number;
}

export const oodCommand: CommandModule<object, OodArgs> = {
  command: "ood <run>",
  describe: "Out-of-distribution scores of a trained run (likelihood, typicality, likelihood ratio, input complexity, WAIC, ...) with AUROC",
  builder: (y) =>
    y
      .positional("run", { type: "string", demandOption: true, describe: "run folder written by `train`" })
      .option("in", { type: "string", describe: "in-distribution test data, DATASET:SPLIT (e.g. fashion-mnist:test)" })
      .option("ood", {
        type: "string",
        describe: "OOD data: DATASET:SPLIT (e.g. mnist:test) or constant, uniform, grayed[:F], inverted, vflip, noise[:S], blur, binarized, saltpepper[:P]",
      })
      .option("dev", {
        type: "boolean",
        default: false,
        describe:
          "the development pairs, for choosing a detector's design without the suite's pairs: detectors fitted on the first half of the validation split, its second half against noise:24, blur, binarized and saltpepper:0.05 made from it, and, for a run trained on some classes ({0-4}), the validation range's other classes",
      })
      .option("suite", {
        type: "boolean",
        default: false,
        describe:
          "every pair that applies to the run's data set (its OOD partner, constant, uniform, grayed, inverted, flipped): a matrix with each score's worst pair",
      })
      .option("held-out", {
        type: "string",
        describe: "held-out in-distribution data the detectors are fitted on (default: the run's validation split, first 5,000); never the --in or --ood data",
      })
      .check((a) => {
        if (a.suite && a.dev) throw new Error("--suite and --dev are two different sets of pairs: give one");
        const many = a.suite ? "--suite" : a.dev ? "--dev" : undefined;
        if (many && (a.in !== undefined || a.ood !== undefined)) throw new Error(`${many} chooses the pairs itself: leave out --in and --ood`);
        if (!many && (a.in === undefined || a.ood === undefined))
          throw new Error("give --in and --ood (one pair), --suite (every pair) or --dev (the development pairs)");
        return true;
      })
      .option("background", { type: "string", describe: "run folder of a background model (train <model> --background) for the likelihood ratio" })
      .option("ensemble", { type: "string", array: true, describe: "more run folders of the same model, other seeds (train --seeds), for WAIC" })
      .option("scores", { type: "string", default: "all", describe: "all, or a comma-separated list of score names" })
      .option("json", { type: "boolean", default: false, describe: "print one JSON object on stdout" })
      .option("limit", { type: "number", describe: "at most N images of each set" })
      .option("regret-limit", {
        type: "number",
        describe: "likelihood regret (VAE): at most N images of each set (default 200; it re-fits the encoder per image)",
      })
      .option("batch-size", { type: "number", default: 256 })
      .option("device", { type: "string" })
      .option("data-dir", { type: "string" })
      .option("threads", { type: "number", describe: "LibTorch threads (default: one per core)" })
      .option("download", { type: "boolean", default: false }) as never,
  handler: async (a) => {
    applyThreads(a.threads);
    for (const [flag, dir] of [["RUN", a.run], ["--background", a.background], ...(a.ensemble ?? []).map((d) => ["--ensemble", d])] as [
      string,
      string | undefined,
    ][]) {
      if (dir !== undefined && !existsSync(dir)) throw new Error(`${flag}: no run folder at ${dir}`);
    }
    const device = deviceOption(a.device);
    // Imported here, not at the top: --help must not load the model stack.
    const [{ oodScores }, { parseScoreNames }, { formatOodReport }, { oodSuite, formatSuite }] = await Promise.all([
      import("../../lib/ood/ood-scores.js"),
      import("../../lib/ood/scores.js"),
      import("../../lib/ood/format.js"),
      import("../../lib/ood/suite.js"),
    ]);
    const options = {
      run: a.run,
      scores: parseScoreNames(a.scores),
      ...(a["held-out"] ? { heldOut: a["held-out"] } : {}),
      ...(a.background ? { background: a.background } : {}),
      ...(a.ensemble ? { ensemble: a.ensemble } : {}),
      ...(a.limit !== undefined ? { limit: positiveInt("limit", a.limit)! } : {}),
      ...(a["regret-limit"] !== undefined ? { regretLimit: positiveInt("regret-limit", a["regret-limit"])! } : {}),
      batchSize: positiveInt("batch-size", a["batch-size"]) ?? 256,
      ...(device ? { device } : {}),
      data: dataOptions(a["data-dir"], a.download),
      quiet: a.json,
    };
    if (a.suite || a.dev) {
      const r = await oodSuite({ ...options, dev: a.dev });
      const { reports: _, ...summary } = r;
      console.log(a.json ? JSON.stringify(summary) : formatSuite(r));
      return;
    }
    const report = await oodScores({ ...options, in: a.in!, ood: a.ood! });
    if (a.json) {
      const { in: inSpec, ood, scores, batchScores } = report;
      const pick = ({
        auroc,
        auprIn,
        auprOut,
        fpr95,
        imagesPerSecond,
      }: {
        auroc: number;
        auprIn: number;
        auprOut: number;
        fpr95: number;
        imagesPerSecond?: number;
      }) => ({ auroc, auprIn, auprOut, fpr95, ...(imagesPerSecond !== undefined ? { imagesPerSecond } : {}) });
      console.log(
        JSON.stringify({
          in: inSpec,
          ood,
          scores: Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, { ...pick(v), threshold: v.threshold }])),
          batchScores: Object.fromEntries(Object.entries(batchScores).map(([k, v]) => [k, { ...pick(v), batchSize: v.batchSize, epsilon: v.epsilon }])),
          skipped: report.skipped,
          n: report.n,
          heldOut: report.heldOut,
        }),
      );
    } else {
      console.log(formatOodReport(report));
    }
  },
};
