// Failures of a distributed run, with real processes: a rank killed mid-run, a rank that never joins, a
// port already taken, Ctrl-C. Each must end every surviving rank within the timeout with a clear error (no
// hang, no core dump), and leave the run folder loadable. The launcher (train --nproc) says it once.
import { afterEach, describe, expect, it, vi } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../../lib/tensor/index.js";
import { backends } from "../../lib/distributed/index.js";
import { threadsFromEnv } from "../../lib/distributed/launch.js";
import { checkpointStep, loadCheckpoint } from "../../lib/train/checkpoint.js";
import { createModel, presetFor } from "../../lib/models/registry.js";
import { openRun } from "../../lib/train/run.js";
import { runCli } from "../../bin/cli.js";
import { SHARED_DATASETS } from "../paths.js";
import { alive, childrenOf, CLI, freePort, holdPort, rank, run, waitForFile } from "./helpers.js";

const have = backends();
const dataEnv = { TORCHTS_OOD_DATA: SHARED_DATASETS };
// A small, endless run of the CLI: tiny Glow on 512 MNIST test images, a checkpoint every 10 steps.
const cliTrain = (out: string, ...extra: string[]) => [
  CLI,
  "train",
  "glow",
  "--preset",
  "tiny",
  "--dataset",
  "mnist",
  "--train-split",
  "test[:512]",
  "--eval-splits",
  "mnist:test[:32]",
  "--steps",
  "100000",
  "--out",
  out,
  "--nproc",
  "2",
  ...extra,
];
const rankOf = (pid: number) => Number(/(?:^|\0)RANK=(\d+)\0/.exec(readFileSync(`/proc/${pid}/environ`, "latin1"))?.[1]);
const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("torchts-ood:"));

/** The run folder still opens: its config and checkpoint make a model. */
function expectLoadable(out: string): number {
  const r = openRun(out, "cpu");
  r.model.dispose();
  return r.step;
}

describe.skipIf(!have.gloo)("distributed faults, each rank a process", () => {
  it("a rank killed mid-run: every surviving rank stops within the timeout, saying a rank left; the checkpoint loads", async () => {
    const out = mkdtempSync(join(tmpdir(), "torchts-kill-"));
    const port = await freePort();
    const job = { job: "train", kind: "glow", steps: 100_000, batchSize: 24, checkpointEvery: 5, port, world: 3, timeoutMs: 10_000, out };
    const ranks = [0, 1, 2].map((r) => rank({ ...job, rank: r }));
    await waitForFile(join(out, "checkpoint.safetensors"), 60_000);
    const t0 = Date.now();
    ranks[2]!.child.kill("SIGKILL");
    const exits = await Promise.all(ranks.map((r) => r.exit));
    const seen = JSON.stringify({
      ms: Date.now() - t0,
      exits: exits.map((e) => ({ code: e.code, signal: e.signal, result: e.result, stderr: e.stderr.slice(-500) })),
    });
    expect(exits[2]!.signal, seen).toBe("SIGKILL");
    for (const r of [0, 1]) {
      const e = exits[r]!;
      expect([e.code, e.signal], seen).toEqual([1, null]);
      expect(e.result?.fault, seen).toBe("peer-lost");
      expect(e.result?.message, seen).toMatch(new RegExp(`^rank ${r} of 3: another rank left the run during allreduce \\(it was stopped, killed or failed`));
    }
    expect(Date.now() - t0, seen).toBeLessThan(10_000);
    const ck = loadCheckpoint(join(out, "checkpoint.safetensors"));
    expect(ck.step % 5).toBe(0);
    const model = createModel(presetFor("glow", "tiny", [1, 8, 8]).model);
    model.loadStateDict(ck.model);
    model.dispose();
    torch.dispose([ck.model, ck.optimizer, ck.rng]);
  });

  it("a rank that never joins, or a rank 0 that never comes: each process exits with the reason within the timeout", async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const job = { job: "join", world: 2, timeoutMs: 2000 };
    const [alone0, alone1] = await Promise.all([rank({ ...job, rank: 0, port: p1 }).exit, rank({ ...job, rank: 1, port: p2 }).exit]);
    expect([alone0.code, alone0.result?.fault]).toEqual([1, "join"]);
    expect(alone0.result?.message).toMatch(
      /^rank 0 of 2: only 1 of 2 ranks joined within 2 s: a rank never started, failed before joining, or cannot reach 127\.0\.0\.1:\d+$/,
    );
    expect([alone1.code, alone1.result?.fault]).toEqual([1, "join"]);
    expect(alone1.result?.message).toMatch(/^rank 1 of 2: could not reach rank 0's store at 127\.0\.0\.1:\d+ within 2 s: rank 0 never started or failed/);
    for (const e of [alone0, alone1]) expect(e.result!.ms).toBeLessThan(2000 + 3000);
  });

  it("a port already in use: rank 0 says so at once, the other rank within the timeout, and both exit", async () => {
    const held = await holdPort();
    try {
      const job = { job: "join", world: 2, timeoutMs: 2000, port: held.port };
      const [e0, e1] = await Promise.all([0, 1].map((r) => rank({ ...job, rank: r }).exit));
      expect([e0!.code, e0!.result?.fault, e1!.code, e1!.result?.fault]).toEqual([1, "port-in-use", 1, "port-in-use"]);
      expect(e0!.result?.message).toMatch(/the port is already in use \(choose another with --master-port or MASTER_PORT\)$/);
      expect(e0!.result!.ms).toBeLessThan(2000);
      expect(e1!.result?.message).toMatch(/^rank 1 of 2: nothing answered as rank 0's store at 127\.0\.0\.1:\d+ within 2 s: another program holds that port/);
      expect(e1!.result!.ms).toBeLessThan(2000 + 3000);
    } finally {
      await held.release();
    }
  });
});

describe.skipIf(!have.gloo)("something else at the master address", () => {
  it("a program that answers, but not as a store: the project's message, not c10d's 'Ping failed'", async () => {
    const server = createServer((c) => {
      c.on("error", () => {});
      c.on("data", () => c.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as { port: number }).port;
      const e = await rank({ job: "join", world: 2, timeoutMs: 3000, port, rank: 1 }).exit;
      expect([e.code, e.result?.fault]).toEqual([1, "port-in-use"]);
      expect(e.result?.message).toMatch(
        /^rank 1 of 2: something at 127\.0\.0\.1:\d+ answered that is not a rendezvous store: another program holds that port, or the address is not rank 0's machine \(choose another --master-port or MASTER_PORT, or check --master-addr\)$/,
      );
      expect(e.result?.message).not.toMatch(/Ping failed/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe.skipIf(!have.gloo)("train --nproc: the launcher", () => {
  const out = join(mkdtempSync(join(tmpdir(), "torchts-launch-")), "glow");

  it("a worker killed mid-run: the other stops at once; one message names the dead rank and the last good checkpoint; the run opens", async () => {
    const launcher = run(process.execPath, cliTrain(out, "--dist-timeout", "20"), dataEnv);
    await waitForFile(join(out, "checkpoint.safetensors"), 90_000);
    const workers = childrenOf(launcher.child.pid!);
    expect(workers.map(rankOf).sort()).toEqual([0, 1]);
    const victim = workers.find((p) => rankOf(p) === 1)!;
    const t0 = Date.now();
    process.kill(victim, "SIGKILL");
    const e = await launcher.exit;
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(e.code, e.stderr).toBe(1);
    const lines = errorLines(e.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^torchts-ood: rank 1 \\(pid ${victim}\\) was killed by SIGKILL`));
    expect(e.stderr).toMatch(
      /Every rank on this machine was stopped; the last good checkpoint is kept at .*checkpoint\.safetensors \(step \d+\): run the same command with --resume to continue\./,
    );
    expect(e.stderr).not.toMatch(/another rank left/); // rank 0's error is a consequence, not said
    for (const p of workers) expect(alive(p)).toBe(false);
    expect(expectLoadable(out)).toBeGreaterThan(0);
  });

  it("Ctrl-C: every rank stops, one message, and the run opens and resumes from its last checkpoint", async () => {
    const before = checkpointStep(join(out, "checkpoint.safetensors"));
    // In a process group of its own, as in a terminal: Ctrl-C signals the launcher and its workers together.
    const launcher = run(process.execPath, cliTrain(out, "--resume", "--dist-timeout", "20"), dataEnv, { detached: true });
    const started = Date.now();
    while (checkpointStep(join(out, "checkpoint.safetensors")) <= before) {
      if (Date.now() - started > 90_000) throw new Error("no new checkpoint");
      await new Promise((r) => setTimeout(r, 100));
    }
    const workers = childrenOf(launcher.child.pid!);
    const t0 = Date.now();
    process.kill(-launcher.child.pid!, "SIGINT");
    const e = await launcher.exit;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(e.code).toBe(130); // 128 + SIGINT, as a shell reports an interrupted command
    expect(errorLines(e.stderr)).toEqual([
      expect.stringMatching(
        /^torchts-ood: interrupted \(SIGINT\): all 2 ranks on this machine stopped; the last good checkpoint is kept at .* \(step \d+\): run the same command with --resume to continue\.$/,
      ),
    ]);
    for (const p of workers) expect(alive(p)).toBe(false);
    expect(expectLoadable(out)).toBeGreaterThan(before);
  });

  it("a port already in use: one message from rank 0, and the run folder is as it was", async () => {
    const held = await holdPort();
    const step = checkpointStep(join(out, "checkpoint.safetensors"));
    try {
      const e = await run(process.execPath, cliTrain(out, "--resume", "--master-port", String(held.port), "--dist-timeout", "3"), dataEnv).exit;
      expect(e.code).toBe(1);
      expect(errorLines(e.stderr)).toEqual([
        `torchts-ood: rank 0 of 2: cannot serve the rendezvous store on port ${held.port}: the port is already in use (choose another with --master-port or MASTER_PORT)`,
      ]);
      expect(e.ms).toBeLessThan(3000 + 10_000);
    } finally {
      await held.release();
    }
    expect(checkpointStep(join(out, "checkpoint.safetensors"))).toBe(step);
    expect(expectLoadable(out)).toBe(step);
  });
});

describe.skipIf(!have.gloo)("train --nproc: exit codes and hints", () => {
  it("SIGTERM to the launcher stops every rank and exits 143 (128 + SIGTERM), not 1", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "torchts-term-")), "glow");
    const launcher = run(process.execPath, cliTrain(out), dataEnv);
    const until = Date.now() + 30_000;
    while (childrenOf(launcher.child.pid!).length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const workers = childrenOf(launcher.child.pid!);
    launcher.child.kill("SIGTERM");
    const e = await launcher.exit;
    expect(e.code, e.stderr).toBe(143);
    expect(errorLines(e.stderr)).toEqual([expect.stringMatching(/^torchts-ood: interrupted \(SIGTERM\): all 2 ranks on this machine stopped/)]);
    for (const p of workers) expect(alive(p)).toBe(false);
  });

  it("a data set that is not here: the --download command is offered, as in a one-process run", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "torchts-dl-")), "glow");
    const args = ["train", "glow", "--preset", "tiny", "--dataset", "cifar10", "--out", out, "--nproc", "2"];
    const e = await run(process.execPath, [CLI, ...args], dataEnv).exit;
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/cifar10.*was not found/i);
    expect(e.stderr).toContain(`To download it (official URLs, md5-checked), run:\n  npx torchts-ood ${args.join(" ")} --download`);
  });
});

describe("train's distributed flags", () => {
  afterEach(() => vi.restoreAllMocks());
  it("mistakes are one-line errors", async () => {
    const cases: [string[], string][] = [
      [["--node-rank", "1"], "--node-rank only applies to a distributed run: add --nproc N (processes on this machine)"],
      [["--nproc", "0"], "--nproc must be a positive integer, got 0"],
      [["--nproc", "2", "--nnodes", "2"], "--nnodes 2 needs --master-addr: the address of the machine with --node-rank 0, which every machine can reach"],
      [["--nproc", "2", "--nnodes", "2", "--node-rank", "2", "--master-addr", "10.0.0.1"], "--node-rank must be an integer from 0 to 1, got 2"],
      [["--nproc", "2", "--seeds", "1-2"], "--seeds with --nproc: train each seed with its own command (--seed N)"],
      [["--nproc", "2", "--dist-timeout", "0"], "--dist-timeout must be a positive number, got 0"],
      [
        ["--nproc", "2", "--batch-size", "15"],
        "the batch size 15 is not divisible by the 2 processes: each takes an equal share of every batch (choose a --batch-size that is a multiple of 2)",
      ],
    ];
    for (const [flags, message] of cases) {
      const err: string[] = [];
      vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
      expect(await runCli(["train", "glow", ...flags]), flags.join(" ")).toBe(1);
      vi.restoreAllMocks();
      expect(err, flags.join(" ")).toEqual([`torchts-ood: ${message}`]);
    }
  });

  it("--resume checks the run's saved batch, before any rank starts, and leaves config.json as it was", async () => {
    const out = mkdtempSync(join(tmpdir(), "torchts-resume-split-"));
    const config = JSON.stringify({ format: "torchts-ood-run/1", train: { batchSize: 16 } });
    writeFileSync(join(out, "config.json"), config);
    const err: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
    // --batch-size 12 would split in 3, but --resume keeps the run's 16
    expect(await runCli(["train", "glow", "--nproc", "3", "--resume", "--batch-size", "12", "--out", out])).toBe(1);
    vi.restoreAllMocks();
    expect(err).toEqual([
      `torchts-ood: the run's batch size 16 (${join(out, "config.json")}; --resume keeps it) is not divisible by the 3 processes: ` +
        "each takes an equal share of every batch (resume with a process count that divides 16: 2, 4, 8, 16)",
    ]);
    expect(readFileSync(join(out, "config.json"), "utf8")).toBe(config);
  });

  it("a rank started by another launcher shares the cores from LOCAL_WORLD_SIZE unless OMP_NUM_THREADS is set", () => {
    const cores = availableParallelism();
    expect(threadsFromEnv({ LOCAL_WORLD_SIZE: "2" })).toBe(Math.max(1, Math.floor(cores / 2)));
    expect(threadsFromEnv({ LOCAL_WORLD_SIZE: String(cores * 4) })).toBe(1);
    expect(threadsFromEnv({ LOCAL_WORLD_SIZE: "2", OMP_NUM_THREADS: "3" })).toBeUndefined();
    expect(threadsFromEnv({ LOCAL_WORLD_SIZE: "1" })).toBeUndefined();
    expect(threadsFromEnv({})).toBeUndefined();
  });
});
