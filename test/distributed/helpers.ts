// Spawning ranks for the distributed tests: each in its own process (test/distributed/fixtures/worker.mjs
// on the compiled library), on a free port, with short timeouts.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { REPO_ROOT } from "../paths.js";

export const WORKER = join(REPO_ROOT, "test/distributed/fixtures/worker.mjs");
export const CLI = join(REPO_ROOT, "dist/bin/torchts-ood.js");

/** A port nobody listens on now (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Holds a port as another program would: it accepts connections and never answers. */
export function holdPort(): Promise<{ port: number; release: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<import("node:net").Socket>();
    const s = createServer((c) => (sockets.add(c), c.on("close", () => sockets.delete(c))));
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () =>
      resolve({
        port: (s.address() as { port: number }).port,
        release: () =>
          new Promise((r) => {
            for (const c of sockets) c.destroy();
            s.close(() => r());
          }),
      }),
    );
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The outcome line of worker.mjs (null for other programs or when there was none). */
  result: { ok: boolean; message?: string; fault?: string; ms: number; [k: string]: unknown } | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
}

export interface Running {
  child: ChildProcess;
  exit: Promise<Exit>;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, o: { detached?: boolean } = {}): Running {
  const t0 = Date.now();
  const child = spawn(cmd, args, {
    env: { ...process.env, TORCH_CPP_LOG_LEVEL: "FATAL", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: o.detached ?? false,
  });
  let stdout = "",
    stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const exit = new Promise<Exit>((resolve) =>
    child.on("close", (code, signal) => {
      const last = stdout.trim().split("\n").at(-1) ?? "";
      let result = null;
      try {
        result = last.startsWith("{") ? JSON.parse(last) : null;
      } catch {
        /* not an outcome line */
      }
      resolve({ code, signal, result, stdout, stderr, ms: Date.now() - t0 });
    }),
  );
  return { child, exit };
}

/** One rank of worker.mjs running `job`. */
export const rank = (job: Record<string, unknown>): Running => run(process.execPath, [WORKER, JSON.stringify(job)]);

/** Resolves when the file exists (polling), rejects after ms. */
export async function waitForFile(path: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pids of a process's children (Linux). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
