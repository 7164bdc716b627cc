// The local launcher, as torchrun: starts this machine's workers as child processes with torchrun's
// variables, and supervises them. When one fails or dies, or on Ctrl-C, every other rank is stopped at
// once (SIGTERM, then SIGKILL after a grace period), and the cause comes back as one message: the first
// rank's own error when it sent one, else how it died; the errors other ranks saw only because of it (a
// peer that left) are left out. Workers report their errors over the IPC channel (reportToLauncher), so
// that nothing but that one message is printed.
//
// No tensor is touched here: `train --help` must not load LibTorch.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { distEnvVars, type DistEnv } from "./env.js";

export interface LaunchOptions {
  /** Workers on this machine. */
  nproc: number;
  /** Machines in all, and this one's place (0: the machine of rank 0). */
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  /** The worker's command: the executable and its arguments. */
  command: string[];
  env?: NodeJS.ProcessEnv;
  /** How long the other ranks get to stop after SIGTERM before SIGKILL (default 5 s). */
  graceMs?: number;
  /** Said after a failure: what the run folder holds now (e.g. the last good checkpoint). */
  afterStop?: () => string;
}

/** What a worker sends when it fails (reportToLauncher). */
export interface WorkerReport {
  type: "error";
  rank: number;
  message: string;
  /** DistributedError's fault: "peer-lost" marks a consequence of another rank's failure. */
  fault?: string;
  /** A data set that is not here and that --download can fetch (DatasetNotFoundError.downloadable). */
  downloadable?: boolean;
}

export class LaunchError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly interrupted: boolean,
    /** The cause is a missing data set that --download can fetch (the CLI then says how). */
    readonly downloadable = false,
  ) {
    super(message);
    this.name = "LaunchError";
  }
}

/** A port that was free a moment ago on this machine (bind port 0, read it, close). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** LibTorch threads per worker when not given: the cores shared out, at least one. */
export const threadsPerWorker = (nproc: number): number => Math.max(1, Math.floor(availableParallelism() / nproc));

/**
 * LibTorch threads for a worker started by another launcher (torchrun, a scheduler), or undefined to keep
 * LibTorch's default: without OMP_NUM_THREADS, each of LOCAL_WORLD_SIZE ranks on a machine would take every
 * core (two ranks ran 4-6x slower), so the cores are shared out as our own launcher does.
 */
export function threadsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (env.OMP_NUM_THREADS?.trim()) return undefined; // the launcher or the user chose
  const local = Number(env.LOCAL_WORLD_SIZE);
  return Number.isInteger(local) && local > 1 ? threadsPerWorker(local) : undefined;
}

interface Worker {
  rank: number;
  child: ChildProcess;
  exited: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  report?: WorkerReport;
  stderr: string[];
  /** Sent a signal by the launcher (so its death is not a cause). */
  stopped: boolean;
}

/**
 * Runs the workers of this machine until all have exited. Resolves when every one succeeded; rejects with
 * a LaunchError (one message, the exit code to use) when any failed, died or the launcher was interrupted.
 * Rank 0 (when on this machine) keeps the terminal's stdout and stderr; the others' stderr is kept for the
 * message.
 */
export async function launchWorkers(o: LaunchOptions): Promise<void> {
  const grace = o.graceMs ?? 5000;
  const worldSize = o.nproc * o.nnodes;
  const [exe, ...args] = o.command;
  const workers: Worker[] = [];
  let failedAt = 0,
    interrupted: NodeJS.Signals | null = null;
  let settle!: () => void;
  const allExited = new Promise<void>((r) => (settle = r));
  const check = () => {
    if (workers.every((w) => w.exited)) settle();
  };

  let stopping: NodeJS.Timeout | undefined, killing: NodeJS.Timeout | undefined;
  const stopAll = (delay: number) => {
    if (stopping) return;
    // A short wait first, so that the ranks that failed together (all at one non-finite loss) report
    // their own errors before they are stopped.
    stopping = setTimeout(() => {
      for (const w of workers) if (!w.exited) ((w.stopped = true), w.child.kill("SIGTERM"));
      killing = setTimeout(() => {
        for (const w of workers) if (!w.exited) w.child.kill("SIGKILL");
      }, grace);
    }, delay);
  };
  const onFailure = () => {
    failedAt ||= Date.now();
    stopAll(1000);
  };

  const onSignal = (sig: NodeJS.Signals) => {
    interrupted ??= sig;
    // The terminal sent Ctrl-C to the workers too; a signal sent to the launcher alone is passed on.
    stopAll(0);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    for (let local = 0; local < o.nproc; local++) {
      const rank = o.nodeRank * o.nproc + local;
      const place: DistEnv = { rank, worldSize, localRank: local, masterAddr: o.masterAddr, masterPort: o.masterPort };
      const env = { ...(o.env ?? process.env), ...distEnvVars(place), LOCAL_WORLD_SIZE: String(o.nproc) };
      const child = spawn(exe!, args, { env, stdio: ["ignore", rank === 0 ? "inherit" : "ignore", rank === 0 ? "inherit" : "pipe", "ipc"] });
      const w: Worker = { rank, child, exited: false, code: null, signal: null, stderr: [], stopped: false };
      workers.push(w);
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (d: string) => {
        w.stderr.push(...d.split("\n").filter((l) => l.trim()));
        if (w.stderr.length > 20) w.stderr.splice(0, w.stderr.length - 20);
      });
      child.on("message", (m: WorkerReport) => {
        if (m?.type === "error") {
          w.report = m;
          onFailure();
        }
      });
      child.on("error", (e) => {
        w.report = { type: "error", rank, message: `could not start: ${e.message}` };
        w.exited = true;
        onFailure();
        check();
      });
      child.on("exit", (code, signal) => {
        w.exited = true;
        w.code = code;
        w.signal = signal;
        if (code !== 0) onFailure();
        check();
      });
    }
    await allExited;
  } finally {
    clearTimeout(stopping);
    clearTimeout(killing);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  const after = o.afterStop ? o.afterStop() : "";
  if (interrupted) {
    throw new LaunchError(
      `interrupted (${interrupted}): all ${o.nproc} ranks on this machine stopped${after ? `; ${after}` : ""}`,
      interrupted === "SIGINT" ? 130 : 143,
      true,
    );
  }
  if (!failedAt) return;
  const cause = causeOf(workers);
  throw new LaunchError(`${cause.message}\nEvery rank on this machine was stopped${after ? `; ${after}` : "."}`, 1, false, cause.downloadable);
}

/**
 * The cause of a failure: the lowest rank's own error (not a peer that left, not a timeout waiting for
 * one); else a rank that died without a word, not stopped by us; else the errors that remain.
 */
function causeOf(workers: Worker[]): { message: string; downloadable: boolean } {
  const own = workers.find((w) => w.report && w.report.fault !== "peer-lost" && w.report.fault !== "timeout");
  if (own) return { message: own.report!.message, downloadable: own.report!.downloadable === true };
  return { message: otherCause(workers), downloadable: false };
}

function otherCause(workers: Worker[]): string {
  const died = workers.find((w) => !w.report && !w.stopped && w.exited && (w.signal || w.code !== 0));
  if (died) {
    const how = died.signal ? `was killed by ${died.signal}` : `exited with code ${died.code} without a message`;
    const tail = died.stderr.length ? `; its last output:\n  ${died.stderr.slice(-5).join("\n  ")}` : "";
    return `rank ${died.rank} (pid ${died.child.pid}) ${how}${tail}`;
  }
  const reported = workers.find((w) => w.report?.fault === "timeout") ?? workers.find((w) => w.report);
  return reported ? reported.report!.message : "a worker failed";
}

/** In a worker started by launchWorkers: sends the error to the launcher; false when there is none. */
export function reportToLauncher(e: Error & { fault?: string; downloadable?: boolean }, rank: number): Promise<boolean> {
  if (!process.send || !process.connected) return Promise.resolve(false);
  const report: WorkerReport = {
    type: "error",
    rank,
    message: e.message,
    ...(e.fault ? { fault: e.fault } : {}),
    ...(e.downloadable === true ? { downloadable: true } : {}),
  };
  return new Promise((resolve) => process.send!(report, undefined, {}, () => resolve(true)));
}
