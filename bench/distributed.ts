// `node dist/bench/distributed.js [--steps 20] [--json]`: data-parallel training of the `cpu` Glow preset on
// FashionMNIST with 1 and 2 processes on this machine (one LibTorch thread each): images/s, the step split
// into compute (forward + backward + update) and the gradient allreduce, an allreduce sweep over message
// sizes, and a model of the scaling to many machines from the measured parameter bytes and bandwidth.
// Each configuration runs in fresh processes (this script, with --worker), on a free port.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";
import * as torch from "../lib/tensor/index.js";
import { BatchLoader } from "../lib/data/index.js";
import { DataParallel, init, type ProcessGroup } from "../lib/distributed/index.js";
import { freePort } from "../lib/distributed/launch.js";
import { createModel, presetFor } from "../lib/models/registry.js";
import { loadSplit, optimizerOf } from "../lib/train/run.js";
import { batchTensor } from "../lib/train/evaluate.js";
import { clipGradNormLazy_ } from "../lib/optim/clip.js";

interface Job {
  rank: number;
  world: number;
  port: number;
  batch: number;
  steps: number;
  warmup: number;
  sweep: boolean;
}
interface WorkerResult {
  rank: number;
  world: number;
  batch: number;
  paramBytes: number;
  /** Medians over the timed steps, ms. */
  stepMs: number;
  computeMs: number;
  allreduceMs: number;
  imagesPerSec: number;
  /** Allreduce of float32 tensors of these bytes: median ms. */
  sweep?: { bytes: number; ms: number }[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function worker(job: Job): Promise<WorkerResult> {
  torch.setNumThreads(1);
  const train = await loadSplit("fashion-mnist:train");
  const preset = presetFor("glow", "cpu", [1, 28, 28]);
  torch.manualSeed(0);
  const model = createModel(preset.model);
  const params = model.parameters();
  const optimizer = optimizerOf(preset.train, params);
  const paramBytes = params.reduce((s, p) => s + p.numel * 4, 0);
  const group: ProcessGroup | null = job.world > 1 ? await init({ rank: job.rank, worldSize: job.world, masterPort: job.port, timeoutMs: 600_000 }) : null;
  const dp = group ? new DataParallel(group) : null;
  const loader = new BatchLoader(train, { batchSize: job.batch, shuffle: true, seed: 0, dropLast: true, reuseBuffers: true });
  const dims = 28 * 28;
  const step: number[] = [],
    compute: number[] = [],
    reduce: number[] = [];
  model.train(true);
  let t0 = 0;
  for (let s = 1; s <= job.warmup + job.steps; s++) {
    const batch = loader.next();
    if (dp && s === 1) await dp.begin(model, batch, "cpu");
    if (s === job.warmup + 1) t0 = performance.now();
    const mine = dp ? dp.shard(batch) : batch;
    const a = performance.now();
    const fwd = torch.tidy(() => {
      const r = model.objective(batchTensor(mine.x, mine.shape));
      const loss = r.logPx.mean().mul(-1 / (dims * Math.LN2));
      optimizer.zeroGrad();
      loss.backward();
      return loss;
    });
    const b = performance.now();
    const loss = dp ? await dp.averageGradients(params, fwd) : fwd;
    const c = performance.now();
    torch.tidy(() => {
      clipGradNormLazy_(params, preset.train.clipNorm);
      optimizer.step();
    });
    torch.dispose([fwd, loss]);
    const d = performance.now();
    if (s > job.warmup) {
      step.push(d - a);
      compute.push(b - a + (d - c));
      reduce.push(c - b);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  loader.dispose();
  let sweep: WorkerResult["sweep"];
  if (group && job.sweep) {
    sweep = [];
    for (const bytes of [4, 64 << 10, 1 << 20, paramBytes, 10 << 20]) {
      const t = torch.zeros([Math.max(1, bytes / 4)]);
      const times: number[] = [];
      for (let i = 0; i < 12; i++) {
        const s0 = performance.now();
        await group.allreduce([t]);
        if (i >= 2) times.push(performance.now() - s0);
      }
      sweep.push({ bytes, ms: median(times) });
      t.dispose();
    }
  }
  await group?.close();
  model.dispose();
  optimizer.dispose();
  return {
    rank: job.rank,
    world: job.world,
    batch: job.batch,
    paramBytes,
    stepMs: median(step),
    computeMs: median(compute),
    allreduceMs: median(reduce),
    imagesPerSec: (job.batch * job.steps) / seconds,
    ...(sweep ? { sweep } : {}),
  };
}

/** Runs one configuration: `world` processes of this script; resolves to rank 0's result. */
async function configuration(world: number, batch: number, steps: number, sweep: boolean): Promise<WorkerResult> {
  const port = await freePort();
  const self = fileURLToPath(import.meta.url);
  const results = await Promise.all(
    Array.from(
      { length: world },
      (_, rank) =>
        new Promise<WorkerResult>((resolve, reject) => {
          const job: Job = { rank, world, port, batch, steps, warmup: 3, sweep };
          const child = spawn(process.execPath, [self, "--worker", JSON.stringify(job)], { stdio: ["ignore", "pipe", "inherit"] });
          let out = "";
          child.stdout.on("data", (d) => (out += d));
          child.on("exit", (code) =>
            code === 0 ? resolve(JSON.parse(out.trim().split("\n").at(-1)!)) : reject(new Error(`rank ${rank} exited with ${code}`)),
          );
        }),
    ),
  );
  return results[0]!;
}

/**
 * Ring allreduce of S bytes over N machines: each sends and receives 2(N-1)/N * S, in 2(N-1) rounds of
 * one message each: t = 2(N-1)/N * S / bw + 2(N-1) * latency.
 */
const ringMs = (n: number, bytes: number, bwBytesPerSec: number, latencySec: number) =>
  n <= 1 ? 0 : ((((2 * (n - 1)) / n) * bytes) / bwBytesPerSec + 2 * (n - 1) * latencySec) * 1000;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const steps = Number(argv[argv.indexOf("--steps") + 1]) || 20;
  const one = await configuration(1, 32, steps, false);
  const twoSame = await configuration(2, 32, steps, true);
  const twoWeak = await configuration(2, 64, steps, false);
  if (argv.includes("--json")) {
    console.log(JSON.stringify({ cores: cpus().length, one, twoSame, twoWeak }));
    return;
  }
  const row = (name: string, r: WorkerResult) =>
    `| ${name} | ${r.batch / r.world} | ${r.imagesPerSec.toFixed(1)} | ${r.stepMs.toFixed(0)} | ${r.computeMs.toFixed(0)} | ${r.allreduceMs.toFixed(1)} |`;
  console.log(`cpu Glow: ${twoSame.paramBytes} bytes of float32 gradients; ${steps} timed steps after 3; ${cpus().length} cores`);
  console.log("| processes x batch | per process | images/s | step ms | compute ms | allreduce ms |\n|---|---:|---:|---:|---:|---:|");
  console.log(row("1 x 32", one));
  console.log(row("2 x 16 (global 32)", twoSame));
  console.log(row("2 x 32 (global 64)", twoWeak));
  console.log("\nallreduce, 2 processes on loopback (median of 10):\n| bytes | ms | algorithm GB/s |\n|---:|---:|---:|");
  for (const s of twoSame.sweep!) console.log(`| ${s.bytes} | ${s.ms.toFixed(3)} | ${(s.bytes / s.ms / 1e6).toFixed(2)} |`);
  // The model: per-process compute from the 1-process run (one thread, batch 32), the gradient bytes
  // measured, ring allreduce on two assumed networks; nothing overlaps (gradients are reduced after backward).
  const compute = one.computeMs,
    bytes = twoSame.paramBytes;
  const nets = [
    ["10 Gb/s, 50 us", 1.25e9, 50e-6],
    ["100 Gb/s, 10 us", 12.5e9, 10e-6],
  ] as const;
  console.log(
    `\nmodel, 32 images per process per step, compute ${compute.toFixed(0)} ms per step:\n| machines | ${nets.map(([n]) => `${n}: allreduce ms | images/s | efficiency`).join(" | ")} |\n|---:|${nets.map(() => "---:|---:|---:").join("|")}|`,
  );
  for (const n of [1, 2, 4, 8, 16, 64, 256]) {
    const cells = nets.map(([, bw, lat]) => {
      const ar = ringMs(n, bytes, bw, lat);
      return `${ar.toFixed(2)} | ${((n * 32 * 1000) / (compute + ar)).toFixed(0)} | ${((compute / (compute + ar)) * 100).toFixed(1)}%`;
    });
    console.log(`| ${n} | ${cells.join(" | ")} |`);
  }
}

if (process.argv[2] === "--worker") {
  const r = await worker(JSON.parse(process.argv[3]!) as Job);
  console.log(JSON.stringify(r));
} else {
  await main();
}
