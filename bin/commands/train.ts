// `torchts-ood train <model>`: trains a model of the paper into a run folder.
import type { CommandModule } from "yargs";
import { MODEL_KINDS } from "../../lib/models/registry.js";
import type { ModelKind } from "../../lib/models/density.js";
import { PRESETS, type PresetName } from "../../lib/presets.js";
import { DATASET_NAMES } from "../../lib/data/catalog.js";
import { BACKGROUND_DEFAULTS, backgroundConfig, type BackgroundConfig } from "../../lib/train/background.js";
import { parseSeeds, seedRunDir, shellWord } from "../../lib/train/seeds.js";
import type { TrainRunOptions } from "../../lib/train/run.js";
import { applyThreads, dataOptions, deviceOption, positiveInt, positiveNumber } from "./options.js";

// Flags that name a run's settings have no yargs default: left out, they are unset, so that --resume
// tells a flag given again (kept from config.json, with a warning) from one not given.
interface TrainArgs {
  model?: string; dataset?: string; "train-split"?: string; "eval-splits"?: string; preset?: string; steps?: number; "batch-size"?: number; lr?: number; device?: string;
  seed?: number; seeds?: string; out?: string; resume: boolean; "data-dir"?: string; download: boolean; threads?: number; quiet: boolean;
  background?: boolean; "mutation-rate"?: number; l2?: number;
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
      .option("seeds", { type: "string", describe: "one run per seed, e.g. 1,2,3,4,5 or 1-5, into --out/seed-N (ensembles: WAIC wants 5 or more)" })
      .option("background", { type: "boolean", describe: "train a background model for the likelihood ratio (Ren et al. 2019): mutated inputs, L2 penalty" })
      .option("mutation-rate", { type: "number", defaultDescription: String(BACKGROUND_DEFAULTS.mutationRate), describe: "with --background: probability that a pixel is replaced by a uniform level 0..255 (paper: 0.1 to 0.3)" })
      .option("l2", { type: "number", defaultDescription: String(BACKGROUND_DEFAULTS.l2), describe: "with --background: L2 penalty on the weights (weight decay on the bits/dim loss, added to the preset's)" })
      .option("out", { type: "string", describe: "run folder (default: runs/<model>-<dataset>, -background with --background, -seeds with --seeds)" })
      .option("resume", { type: "boolean", default: false, describe: "continue the run in --out from its checkpoint (--steps, --lr and --device may change; other settings stay)" })
      .option("data-dir", { type: "string", describe: "data root (one folder per data set); also $TORCHTS_OOD_DATA" })
      .option("threads", { type: "number", describe: "LibTorch threads (default: one per core)" })
      .option("download", { type: "boolean", default: false, describe: "download missing data sets (official URLs, checksums)" })
      .option("quiet", { type: "boolean", default: false, describe: "no progress output" }) as never,
  handler: async (a) => {
    applyThreads(a.threads);
    const kind = a.model as ModelKind | undefined;
    const background = backgroundOption(a);
    const seeds = a.seeds === undefined ? undefined : parseSeeds(a.seeds);
    if (seeds && a.seed !== undefined) throw new Error("--seed and --seeds together: use --seeds alone (each run of the sweep gets its own seed)");
    const base = `runs/${kind ?? "glow"}-${a.dataset ?? "fashion-mnist"}${background ? "-background" : ""}`;
    const out = a.out ?? (seeds ? `${base}-seeds` : base);
    const overrides = Object.fromEntries(Object.entries({
      steps: positiveInt("steps", a.steps), batchSize: positiveInt("batch-size", a["batch-size"]), lr: positiveNumber("lr", a.lr),
    }).filter(([, v]) => v !== undefined));
    if (a.seed !== undefined && !Number.isInteger(a.seed)) throw new Error(`--seed must be an integer, got ${a.seed}`);
    const device = deviceOption(a.device);
    // Imported here, not at the top: --help must not load the training stack.
    const { trainRun } = await import("../../lib/train/run.js");
    // Unset flags go as undefined: a new run takes the defaults, a resumed one its config.json.
    const options: Omit<TrainRunOptions, "out" | "seed"> = {
      kind, preset: a.preset as PresetName | undefined, dataset: a.dataset, trainSplit: a["train-split"],
      ...(a["eval-splits"] ? { evalSplits: a["eval-splits"].split(",").map((s) => s.trim()).filter(Boolean) } : {}), resume: a.resume, overrides,
      ...(background ? { background } : {}), device, data: dataOptions(a["data-dir"], a.download), quiet: a.quiet,
    };
    const trainOne = async (dir: string, seed: number | undefined): Promise<void> => {
      const t0 = Date.now();
      const { config, summary } = await trainRun({ ...options, out: dir, seed });
      if (summary.resumedFrom >= summary.steps) {
        console.log(`nothing to train: ${dir} is already at step ${summary.resumedFrom} of ${summary.steps} (pass --steps with more than ${summary.resumedFrom} to train further)`);
        return;
      }
      console.log(`trained ${config.background ? "a background " : ""}${config.kind} for ${summary.steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s` +
        ` (final loss ${summary.finalLoss.toFixed(3)} bits/dim) -> ${dir}` + (seeds ? "" : `\nnext: torchts-ood eval ${dir}`));
    };
    if (!seeds) return trainOne(out, a.seed);

    // One run after another: each already uses every core it is given.
    const dirs = seeds.map((s) => seedRunDir(out, s));
    for (const [i, seed] of seeds.entries()) {
      if (!a.quiet) process.stderr.write(`train: seed ${seed} (${i + 1} of ${seeds.length}) -> ${dirs[i]}\n`);
      try {
        await trainOne(dirs[i]!, seed);
      } catch (e) {
        // The same error, its message with the sweep's context: its class still selects the CLI's hints.
        const done = seeds.slice(0, i);
        if (e instanceof Error) e.message = `seed ${seed} (${dirs[i]}): ${e.message}\n` +
          `${done.length > 1 ? `seeds ${done.join(", ")} are trained; ` : done.length ? `seed ${done[0]} is trained; ` : ""}the sweep stopped there. ` +
          "Run the same command with --resume to continue it (trained seeds are kept, the others are trained or continued).";
        throw e;
      }
    }
    console.log(`${seeds.length} runs, one per seed:\n${dirs.map((d) => `  ${d}`).join("\n")}\n` +
      `to score them as an ensemble, pass:\n  --ensemble ${dirs.map(shellWord).join(" ")}`);
    if (seeds.length < 5) console.log(`(WAIC wants 5 or more members; this sweep has ${seeds.length})`);
  },
};

/** --background and its two settings; the settings alone are a mistake, said as one. */
function backgroundOption(a: TrainArgs): Partial<BackgroundConfig> | undefined {
  const given = Object.fromEntries(Object.entries({ mutationRate: a["mutation-rate"], l2: a.l2 }).filter(([, v]) => v !== undefined)) as Partial<BackgroundConfig>;
  if (!a.background) {
    const flags = [a["mutation-rate"] !== undefined && "--mutation-rate", a.l2 !== undefined && "--l2"].filter(Boolean);
    const named = flags.join(" and ");
    if (flags.length) throw new Error(`${named} only ${flags.length > 1 ? "apply" : "applies"} to a background model: add --background to train one (or drop ${named})`);
    return undefined;
  }
  backgroundConfig(given); // checks the values now, before any data is loaded
  return given;
}
