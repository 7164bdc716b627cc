// Non-blocking scoring for services: a trained run loaded in a worker thread; `score()` returns a
// Promise and the event loop stays free while LibTorch works.
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { checkImages } from "./check-batch.js";

export interface Scores {
  logPx: Float64Array;
  bitsPerDim: Float64Array;
  logPz?: Float64Array;
  logDet?: Float64Array;
}

// The compiled worker: beside this file in dist/, or dist/'s copy when running from the TypeScript sources.
function workerPath(): string {
  const here = fileURLToPath(new URL("./scorer-worker.js", import.meta.url));
  if (existsSync(here)) return here;
  const dist = fileURLToPath(new URL("../../dist/lib/serve/scorer-worker.js", import.meta.url));
  if (existsSync(dist)) return dist;
  throw new Error("the scorer worker is not built: run `npm run build:ts`");
}

type Pending = { resolve: (s: Scores) => void; reject: (e: Error) => void };
export interface ScorerInfo {
  kind: string;
  step: number;
  imageShape: number[];
}

export class Scorer {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  /** Why the worker is gone, once it is: every later call rejects with it. */
  private stopped: Error | null = null;
  private readonly exited: Promise<void>;
  readonly ready: Promise<ScorerInfo>;

  /** Loads the run folder `dir` in a worker thread (with `threads` LibTorch threads, default 1). */
  constructor(dir: string, o: { threads?: number } = {}) {
    this.worker = new Worker(workerPath(), { workerData: { dir, threads: o.threads ?? 1 } });
    let loaded: (info: ScorerInfo) => void, failed: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      loaded = resolve;
      failed = reject;
    });
    this.ready.catch(() => {}); // not unhandled when nobody awaits it: score() reports the same error
    let lastError: Error | null = null;
    this.worker.on("message", (m: ({ id?: number; error?: string; errorName?: string } & Scores) | ({ ready: true } & ScorerInfo)) => {
      if ("ready" in m) return loaded(m);
      const p = this.pending.get(m.id!);
      this.pending.delete(m.id!);
      if (m.error)
        p?.reject(m.errorName === "RangeError" ? new RangeError(m.error) : m.errorName === "TypeError" ? new TypeError(m.error) : new Error(m.error));
      else p?.resolve(m);
    });
    this.worker.on("error", (e) => {
      lastError = e;
    });
    // Exit follows an error too; batches the worker had not answered will never be, so they reject.
    this.exited = new Promise((resolve) =>
      this.worker.once("exit", (code) => {
        this.stopped =
          lastError ??
          new Error(
            this.closed
              ? "score: this Scorer is closed; create a new Scorer(dir) to score more batches"
              : `score: the scorer's worker stopped (exit code ${code}) before answering; create a new Scorer(dir) to score more batches`,
          );
        failed(this.stopped);
        for (const p of this.pending.values()) p.reject(this.stopped);
        this.pending.clear();
        resolve();
      }),
    );
  }

  /**
   * Scores a batch of images [B, C, H, W] (C, H, W the model's) with finite values in [0, 1] (bin
   * centres (p + 0.5) / 256 for 8-bit pixels p). Rejects batches that break these rules, and once the
   * Scorer is closed or its worker has stopped.
   */
  async score(x: Float32Array, shape: [number, number, number, number]): Promise<Scores> {
    if (this.closed) throw new Error("score: this Scorer is closed; create a new Scorer(dir) to score more batches");
    if (this.stopped) throw this.stopped;
    checkImages(x, shape); // here, so a bad batch is not copied to the worker; it checks [C, H, W]
    const id = this.nextId++;
    // Posted at once (the worker queues it while it loads), so batches asked for before close() come first.
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, x, shape });
    });
  }

  /** Scores the batches already asked for, then stops the worker. Safe to call twice. */
  close(): Promise<void> {
    if (!this.closed && !this.stopped) this.worker.postMessage({ close: true });
    this.closed = true;
    return this.exited;
  }
}
