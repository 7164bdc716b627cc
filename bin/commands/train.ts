// `torchts-ood train <model>`: trains a model of the paper into a run folder.
import type { CommandModule } from "yargs";
import { MODEL_KINDS } from "../../lib/models/registry.js";
import type { ModelKind } from "../../lib/models/density.js";
import { PRESETS, type PresetName } from "../../lib/presets.js";
import { DATASET_NAMES } from "../../lib/data/catalog.js";
import { applyThreads, dataOptions, deviceOption, positiveInt, positiveNumber } from "./options.js";

// Flags that name a run's settings have no yargs default: left out, they are unset, so that --resume
// tells a flag given again (kept from config.json, with a warning) from one not given.
interface TrainArgs {
  model?: string; dataset?: string; "train-split"?: string; "eval-splits"?: string; preset?: string; steps?: number; "batch-size"?: number; lr?: number; device?: string;
  seed?: number; out?: string; resume: boolean; "data-dir"?: string; download: boolean; threads?: number; quiet: boolean;
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: "train [model]",
  describe: "Train a model (Glow on FashionMNIST by default) into a run folder",
  builder: (y) =>
    y
      .positional("model", { choices: MODEL_KINDS as string[], describe: "model kind (default: glow)" })
      .option("dataset", { type: "string", defaultDescription: "fashion-mnist", choices: DATASET_NAMES as unknown as string[], describe: "training data (its train split)" })
      .option("train-split", { type: "string", defaultDescription: "train", describe: "split to train on, e.g. test[:5000] (only MNIST's test split is here)" })
      .option("eval-splits", { type: "string", describe: "comma-separated DATASET:SPLIT list evaluated during training (default: the test split and the OOD test set)" })
      .option("preset", { type: "string", defaultDescription: "cpu", choices: PRESETS as unknown as string[], describe: "tiny (seconds), cpu (~10 min on 2 cores), paper (the appendix's configuration)" })
      .option("steps", { type: "number", describe: "training steps in all (default: the preset's); with --resume, the step to reach" })
      .option("batch-size", { type: "number", describe: "batch size (default: the preset's)" })
      .option("lr", { type: "number", describe: "learning rate (default: the preset's)" })
      .option("device", { type: "string", describe: "cpu, cuda or cuda:N (default: CUDA when available)" })
      .option("seed", { type: "number", defaultDescription: "0" })
      .option("out", { type: "string", describe: "run folder (default: runs/<model>-<dataset>)" })
      .option("resume", { type: "boolean", default: false, describe: "continue the run in --out from its checkpoint (--steps, --lr and --device may change; other settings stay)" })
      .option("data-dir", { type: "string", describe: "data root (one folder per data set); also $TORCHTS_OOD_DATA" })
      .option("threads", { type: "number", describe: "LibTorch threads (default: one per core)" })
      .option("download", { type: "boolean", default: false, describe: "download missing data sets (official URLs, checksums)" })
      .option("quiet", { type: "boolean", default: false, describe: "no progress output" }) as never,
  handler: async (a) => {
    applyThreads(a.threads);
    const kind = a.model as ModelKind | undefined;
    const out = a.out ?? `runs/${kind ?? "glow"}-${a.dataset ?? "fashion-mnist"}`;
    const overrides = Object.fromEntries(Object.entries({
      steps: positiveInt("steps", a.steps), batchSize: positiveInt("batch-size", a["batch-size"]), lr: positiveNumber("lr", a.lr),
    }).filter(([, v]) => v !== undefined));
    if (a.seed !== undefined && !Number.isInteger(a.seed)) throw new Error(`--seed must be an integer, got ${a.seed}`);
    const device = deviceOption(a.device);
    const t0 = Date.now();
    // Imported here, not at the top: --help must not load the training stack.
    const { trainRun } = await import("../../lib/train/run.js");
    // Unset flags go as undefined: a new run takes the defaults, a resumed one its config.json.
    const { config, summary } = await trainRun({
      kind, preset: a.preset as PresetName | undefined, dataset: a.dataset, trainSplit: a["train-split"], seed: a.seed, out,
      ...(a["eval-splits"] ? { evalSplits: a["eval-splits"].split(",").map((s) => s.trim()).filter(Boolean) } : {}), resume: a.resume, overrides,
      device, data: dataOptions(a["data-dir"], a.download), quiet: a.quiet,
    });
    if (summary.resumedFrom >= summary.steps) {
      console.log(`nothing to train: ${out} is already at step ${summary.resumedFrom} of ${summary.steps} (pass --steps with more than ${summary.resumedFrom} to train further)`);
      return;
    }
    console.log(`trained ${config.kind} for ${summary.steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s` +
      ` (final loss ${summary.finalLoss.toFixed(3)} bits/dim) -> ${out}\nnext: torchts-ood eval ${out}`);
  },
};
