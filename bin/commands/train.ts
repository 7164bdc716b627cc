// `torchts-ood train <model>`: trains a model of the paper into a run folder.
import type { CommandModule } from "yargs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MODEL_KINDS } from "../../lib/models/registry.js";
import type { ModelKind } from "../../lib/models/density.js";
import { PRESETS, type PresetName } from "../../lib/presets.js";
import { DATASET_NAMES } from "../../lib/data/catalog.js";
import { BACKGROUND_DEFAULTS, backgroundConfig, type BackgroundConfig } from "../../lib/train/background.js";
import { parseSeeds, seedRunDir, shellWord } from "../../lib/train/seeds.js";
import type { TrainRunOptions } from "../../lib/train/run.js";
import { applyThreads, dataOptions, deviceOption, positiveInt, positiveNumber } from "./options.js";
import { existsSync } from "node:fs";
import { MiB, readTextFile } from "../../lib/files.js";

// Flags that name a run's settings have no yargs default: left out, they are unset, so that --resume
// tells a flag given again (kept from config.json, with a warning) from one not given.
interface TrainArgs {
  model?: string;
  dataset?: string;
  "train-split"?: string;
  "val-split"?: string;
  "eval-splits"?: string;
  preset?: string;
  steps?: number;
  "batch-size"?: number;
  lr?: number;
  device?: string;
  seed?: number;
  seeds?: string;
  out?: string;
  resume: boolean;
  "data-dir"?: string;
  download: boolean;
  threads?: number;
  quiet: boolean;
  background?: boolean;
  "mutation-rate"?: number;
  l2?: number;
  nproc?: number;
  nnodes?: number;
  "node-rank"?: number;
  "master-addr"?: string;
  "master-port"?: number;
  "dist-timeout"?: number;
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: "train [model]",
  describe: "Train a model (Glow on FashionMNIST by default) into a run folder",
  builder: (y) =>
    y
      .positional("model", { choices: MODEL_KINDS as string[], describe: "model kind (default: glow)" })
      .option("dataset", {
        type: "string",
        defaultDescription: "fashion-mnist",
        choices: DATASET_NAMES as unknown as string[],
        describe: "training data (its train split)",
      })
      .option("train-split", {
        type: "string",
        defaultDescription: "train",
        describe: "split to train on, e.g. test[:5000] (only MNIST's test split is here); {0-4} after it keeps those classes only",
      })
      .option("val-split", {
        type: "string",
        defaultDescription: "the last 5,000 images of the training split",
        describe: "validation split, never trained on (OOD detectors are fitted on it), e.g. test[5000:7500]; none for no validation split",
      })
      .option("eval-splits", {
        type: "string",
        describe: "comma-separated DATASET:SPLIT list evaluated during training (default: the test split and the OOD test set)",
      })
      .option("preset", {
        type: "string",
        defaultDescription: "cpu",
        choices: PRESETS as unknown as string[],
        describe: "tiny (seconds), cpu (~10 min on 2 cores), paper (the appendix's configuration)",
      })
      .option("steps", { type: "number", describe: "training steps in all (default: the preset's); with --resume, the step to reach" })
      .option("batch-size", { type: "number", describe: "batch size (default: the preset's)" })
      .option("lr", { type: "number", describe: "learning rate (default: the preset's)" })
      .option("device", { type: "string", describe: "cpu, cuda or cuda:N (default: CUDA when available)" })
      .option("seed", { type: "number", defaultDescription: "0" })
      .option("seeds", { type: "string", describe: "one run per seed, e.g. 1,2,3,4,5 or 1-5, into --out/seed-N (ensembles: WAIC wants 5 or more)" })
      .option("background", { type: "boolean", describe: "train a background model for the likelihood ratio (Ren et al. 2019): mutated inputs, L2 penalty" })
      .option("mutation-rate", {
        type: "number",
        defaultDescription: String(BACKGROUND_DEFAULTS.mutationRate),
        describe: "with --background: probability that a pixel is replaced by a uniform level 0..255 (paper: 0.1 to 0.3)",
      })
      .option("l2", {
        type: "number",
        defaultDescription: String(BACKGROUND_DEFAULTS.l2),
        describe: "with --background: L2 penalty on the weights (weight decay on the bits/dim loss, added to the preset's)",
      })
      .option("out", { type: "string", describe: "run folder (default: runs/<model>-<dataset>, -background with --background, -seeds with --seeds)" })
      .option("resume", {
        type: "boolean",
        default: false,
        describe: "continue the run in --out from its checkpoint (--steps, --lr and --device may change; other settings stay)",
      })
      .option("data-dir", { type: "string", describe: "data root (one folder per data set); also $TORCHTS_OOD_DATA" })
      .option("threads", { type: "number", describe: "LibTorch threads (default: one per core)" })
      .option("download", { type: "boolean", default: false, describe: "download missing data sets (official URLs, checksums)" })
      .option("quiet", { type: "boolean", default: false, describe: "no progress output" })
      .option("nproc", {
        type: "number",
        describe:
          "data-parallel training in this many processes on this machine (Gloo on CPU, NCCL on CUDA); --batch-size is the global batch, split between them",
      })
      .option("nnodes", { type: "number", defaultDescription: "1", describe: "machines in the run, each running this command with its --node-rank" })
      .option("node-rank", {
        type: "number",
        defaultDescription: "0",
        describe: "this machine's place among --nnodes (0: the machine of rank 0, which writes the run folder)",
      })
      .option("master-addr", { type: "string", defaultDescription: "$MASTER_ADDR or 127.0.0.1", describe: "address of the machine of node rank 0" })
      .option("master-port", {
        type: "number",
        defaultDescription: "a free port (one machine), else $MASTER_PORT or 29500",
        describe: "port of rank 0's rendezvous store",
      })
      .option("dist-timeout", {
        type: "number",
        defaultDescription: "300",
        describe: "seconds a rank waits for the others (to join, and at each step) before it stops with an error",
      }) as never,
  handler: async (a) => {
    const distributed = distributedMode(a);
    if (distributed === "launch") return launch(a);
    applyThreads(a.threads);
    const kind = a.model as ModelKind | undefined;
    const background = backgroundOption(a);
    const seeds = a.seeds === undefined ? undefined : parseSeeds(a.seeds);
    if (seeds && a.seed !== undefined) throw new Error("--seed and --seeds together: use --seeds alone (each run of the sweep gets its own seed)");
    const base = `runs/${kind ?? "glow"}-${a.dataset ?? "fashion-mnist"}${background ? "-background" : ""}`;
    const out = a.out ?? (seeds ? `${base}-seeds` : base);
    const overrides = Object.fromEntries(
      Object.entries({
        steps: positiveInt("steps", a.steps),
        batchSize: positiveInt("batch-size", a["batch-size"]),
        lr: positiveNumber("lr", a.lr),
      }).filter(([, v]) => v !== undefined),
    );
    if (a.seed !== undefined && !Number.isInteger(a.seed)) throw new Error(`--seed must be an integer, got ${a.seed}`);
    const device = deviceOption(a.device);
    // Imported here, not at the top: --help must not load the training stack.
    const { trainRun } = await import("../../lib/train/run.js");
    // Unset flags go as undefined: a new run takes the defaults, a resumed one its config.json.
    const options: Omit<TrainRunOptions, "out" | "seed"> = {
      kind,
      preset: a.preset as PresetName | undefined,
      dataset: a.dataset,
      trainSplit: a["train-split"],
      valSplit: a["val-split"],
      ...(a["eval-splits"]
        ? {
            evalSplits: a["eval-splits"]
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean),
          }
        : {}),
      resume: a.resume,
      overrides,
      ...(background ? { background } : {}),
      device,
      data: dataOptions(a["data-dir"], a.download),
      quiet: a.quiet,
    };
    if (distributed === "worker") {
      if (seeds) throw new Error("--seeds in a distributed run: train each seed with its own command (--seed N)");
      return worker(a, options, out);
    }
    const trainOne = async (dir: string, seed: number | undefined): Promise<void> => {
      const t0 = Date.now();
      const { config, summary } = await trainRun({ ...options, out: dir, seed });
      if (summary.resumedFrom >= summary.steps) {
        console.log(
          `nothing to train: ${dir} is already at step ${summary.resumedFrom} of ${summary.steps} (pass --steps with more than ${summary.resumedFrom} to train further)`,
        );
        return;
      }
      console.log(
        `trained ${config.background ? "a background " : ""}${config.kind} for ${summary.steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s` +
          ` (final loss ${summary.finalLoss.toFixed(3)} bits/dim) -> ${dir}` +
          (seeds ? "" : `\nnext: torchts-ood eval ${dir}`),
      );
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
        if (e instanceof Error)
          e.message =
            `seed ${seed} (${dirs[i]}): ${e.message}\n` +
            `${done.length > 1 ? `seeds ${done.join(", ")} are trained; ` : done.length ? `seed ${done[0]} is trained; ` : ""}the sweep stopped there. ` +
            "Run the same command with --resume to continue it (trained seeds are kept, the others are trained or continued).";
        throw e;
      }
    }
    console.log(
      `${seeds.length} runs, one per seed:\n${dirs.map((d) => `  ${d}`).join("\n")}\n` +
        `to score them as an ensemble, pass:\n  --ensemble ${dirs.map(shellWord).join(" ")}`,
    );
    if (seeds.length < 5) console.log(`(WAIC wants 5 or more members; this sweep has ${seeds.length})`);
  },
};

/** --background and its two settings; the settings alone are a mistake, said as one. */
function backgroundOption(a: TrainArgs): Partial<BackgroundConfig> | undefined {
  const given = Object.fromEntries(
    Object.entries({ mutationRate: a["mutation-rate"], l2: a.l2 }).filter(([, v]) => v !== undefined),
  ) as Partial<BackgroundConfig>;
  if (!a.background) {
    const flags = [a["mutation-rate"] !== undefined && "--mutation-rate", a.l2 !== undefined && "--l2"].filter(Boolean);
    const named = flags.join(" and ");
    if (flags.length)
      throw new Error(`${named} only ${flags.length > 1 ? "apply" : "applies"} to a background model: add --background to train one (or drop ${named})`);
    return undefined;
  }
  backgroundConfig(given); // checks the values now, before any data is loaded
  return given;
}

// ---- Distributed training: --nproc launches workers here, each a `train` with torchrun's variables ----

const DIST_FLAGS = ["nproc", "nnodes", "node-rank", "master-addr", "master-port"] as const;

/** launch: start the workers; worker: this process is one (RANK/WORLD_SIZE set); null: an ordinary run. */
function distributedMode(a: TrainArgs): "launch" | "worker" | null {
  const nproc = positiveInt("nproc", a.nproc) ?? 1,
    nnodes = positiveInt("nnodes", a.nnodes) ?? 1;
  const launching = nproc > 1 || nnodes > 1;
  const inWorker = process.env.WORLD_SIZE !== undefined && Number(process.env.WORLD_SIZE) > 1;
  if (launching && inWorker)
    throw new Error(`--nproc/--nnodes in a process that is already a worker (WORLD_SIZE=${process.env.WORLD_SIZE}): give one or the other`);
  if (!launching) {
    const stray = DIST_FLAGS.filter((f) => f !== "nproc" && f !== "nnodes" && a[f] !== undefined);
    if (stray.length && !inWorker)
      throw new Error(`--${stray.join(", --")} only ${stray.length > 1 ? "apply" : "applies"} to a distributed run: add --nproc N (processes on this machine)`);
  }
  if (a["dist-timeout"] !== undefined) positiveNumber("dist-timeout", a["dist-timeout"]);
  return launching ? "launch" : inWorker ? "worker" : null;
}

/** The compiled CLI that each worker runs (from the sources under vitest: its build in dist/). */
function cliScript(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith(".ts") ? join(dirname(here), "../../dist/bin/torchts-ood.js") : join(dirname(here), "../torchts-ood.js");
}

/** The worker's command line: this one without the launcher's flags, with the run folder and threads made explicit. */
function workerArgv(a: TrainArgs, out: string, threads: number): string[] {
  const skip = new Set<string>([...DIST_FLAGS, "out", "threads", "model"]);
  const argv = ["train", ...(a.model ? [a.model] : []), `--out=${out}`, `--threads=${threads}`];
  for (const [k, v] of Object.entries(a)) {
    if (skip.has(k) || k === "_" || k === "$0" || /[A-Z]/.test(k) || v === undefined) continue;
    if (typeof v === "boolean") argv.push(v ? `--${k}` : `--no-${k}`);
    else argv.push(`--${k}=${v}`);
  }
  return argv;
}

async function launch(a: TrainArgs): Promise<void> {
  if (a.seeds !== undefined) throw new Error("--seeds with --nproc: train each seed with its own command (--seed N)");
  const nproc = positiveInt("nproc", a.nproc) ?? 1,
    nnodes = positiveInt("nnodes", a.nnodes) ?? 1;
  const nodeRank = a["node-rank"] ?? 0;
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes)
    throw new Error(`--node-rank must be an integer from 0 to ${nnodes - 1}, got ${nodeRank}`);
  const masterAddr = a["master-addr"] ?? process.env.MASTER_ADDR;
  if (nnodes > 1 && !masterAddr)
    throw new Error(`--nnodes ${nnodes} needs --master-addr: the address of the machine with --node-rank 0, which every machine can reach`);
  const port = a["master-port"] ?? (nnodes === 1 ? undefined : Number(process.env.MASTER_PORT ?? 29500));
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535))
    throw new Error(`--master-port must be a port number (1-65535), got ${port}`);
  const { launchWorkers, freePort, threadsPerWorker, LaunchError } = await import("../../lib/distributed/launch.js");
  const { checkpointStep } = await import("../../lib/train/checkpoint.js");
  const { resolve } = await import("node:path");
  const out = resolve(a.out ?? `runs/${a.model ?? "glow"}-${a.dataset ?? "fashion-mnist"}${a.background ? "-background" : ""}`);
  checkBatchSplit(a, out, nproc * nnodes);
  const threads = a.threads !== undefined ? positiveInt("threads", a.threads)! : threadsPerWorker(nproc);
  const afterStop = () => {
    const ckpt = join(out, "checkpoint.safetensors");
    if (!existsSync(ckpt)) return "no checkpoint was written yet.";
    try {
      return `the last good checkpoint is kept at ${ckpt} (step ${checkpointStep(ckpt)}): run the same command with --resume to continue.`;
    } catch {
      return `${ckpt} could not be read.`;
    }
  };
  try {
    await launchWorkers({
      nproc,
      nnodes,
      nodeRank,
      masterAddr: masterAddr ?? "127.0.0.1",
      masterPort: port ?? (await freePort()),
      command: [process.execPath, cliScript(), ...workerArgv(a, out, threads)],
      afterStop,
    });
  } catch (e) {
    // One message, with the exit code of its cause (130/143 when interrupted) and the --download hint
    // when a worker missed a data set that can be fetched.
    if (e instanceof LaunchError) throw Object.assign(new Error(e.message), { exitCode: e.exitCode, downloadable: e.downloadable });
    throw e;
  }
}

/**
 * Every process takes an equal share of each batch. The batch is --batch-size for a new run, and the
 * run's own (config.json) on --resume, which keeps it: checked here, before any rank starts or any file
 * is written.
 */
function checkBatchSplit(a: TrainArgs, out: string, procs: number): void {
  const config = join(out, "config.json");
  let batch = a["batch-size"];
  let saved = false;
  if (a.resume && existsSync(config)) {
    try {
      const b = (JSON.parse(readTextFile(config, MiB, "config.json")) as { train?: { batchSize?: unknown } }).train?.batchSize;
      if (typeof b === "number") [batch, saved] = [b, true];
    } catch {
      return; // a damaged config.json is the workers' to report, with the field named
    }
  }
  if (batch === undefined || batch % procs === 0) return;
  const divisors = Array.from({ length: batch }, (_, i) => i + 1).filter((d) => batch! % d === 0 && d > 1);
  throw new Error(
    saved
      ? `the run's batch size ${batch} (${config}; --resume keeps it) is not divisible by the ${procs} processes: each takes an equal share of every batch ` +
          `(resume with a process count that divides ${batch}: ${divisors.join(", ")})`
      : `the batch size ${batch} is not divisible by the ${procs} processes: each takes an equal share of every batch (choose a --batch-size that is a multiple of ${procs})`,
  );
}

async function worker(a: TrainArgs, options: Omit<TrainRunOptions, "out" | "seed">, out: string): Promise<void> {
  const { init, DataParallel, distEnvFrom, DEFAULT_TIMEOUT_MS } = await import("../../lib/distributed/index.js");
  const { reportToLauncher, threadsFromEnv } = await import("../../lib/distributed/launch.js");
  const { defaultDevice, setNumThreads } = await import("../../lib/tensor/index.js");
  // Started by another launcher: share the cores between this machine's ranks (ours passes --threads).
  const shared = a.threads === undefined ? threadsFromEnv() : undefined;
  if (shared !== undefined) setNumThreads(shared);
  const { trainRun } = await import("../../lib/train/run.js");
  const place = distEnvFrom()!;
  const timeoutMs = a["dist-timeout"] !== undefined ? a["dist-timeout"] * 1000 : DEFAULT_TIMEOUT_MS;
  // Gloo for CPU tensors; NCCL for CUDA ones, each rank on the device of its local rank.
  const device = options.device ?? defaultDevice();
  const cuda = device !== "cpu";
  let group: Awaited<ReturnType<typeof init>> | undefined;
  // Started by our launcher: if it dies, so does this worker (not a run left training on its own).
  const orphaned = () => process.kill(process.pid, "SIGTERM");
  if (process.connected) process.on("disconnect", orphaned);
  try {
    group = await init({ timeoutMs, backend: cuda ? "nccl" : "gloo" });
    const t0 = Date.now();
    const { config, summary } = await trainRun({
      ...options,
      out,
      seed: a.seed,
      device: cuda ? `cuda:${place.localRank}` : "cpu",
      parallel: new DataParallel(group),
    });
    if (place.rank === 0) {
      console.log(
        summary.resumedFrom >= summary.steps
          ? `nothing to train: ${out} is already at step ${summary.resumedFrom} of ${summary.steps}`
          : `trained ${config.kind} for ${summary.steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s on ${group.size} processes ` +
              `(final loss ${summary.finalLoss.toFixed(3)} bits/dim) -> ${out}\nnext: torchts-ood eval ${out}`,
      );
    }
  } catch (e) {
    // Started by our launcher: the error goes to it, which says it once for every rank.
    if (await reportToLauncher(e as Error, place.rank)) {
      process.off("disconnect", orphaned);
      await group?.close();
      process.exit(1);
    }
    throw e;
  } finally {
    await group?.close();
    process.off("disconnect", orphaned);
    if (process.connected) process.disconnect();
  }
}
