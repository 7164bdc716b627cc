// Non-blocking scoring for services: a trained run loaded in a worker thread; `score()` returns a
// Promise and the event loop stays free while LibTorch works.
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

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

export class Scorer {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (s: Scores) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  readonly ready: Promise<{ kind: string; step: number; imageShape: number[] }>;

  /** Loads the run folder `dir` in a worker thread (with `threads` LibTorch threads, default 1). */
  constructor(dir: string, o: { threads?: number } = {}) {
    this.worker = new Worker(workerPath(), { workerData: { dir, threads: o.threads ?? 1 } });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once("error", reject);
      this.worker.once("message", (m) => resolve(m));
    });
    this.worker.on("message", (m: { id?: number; error?: string } & Scores) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error));
      else p?.resolve(m);
    });
    this.worker.on("error", (e) => { for (const p of this.pending.values()) p.reject(e); this.pending.clear(); });
  }

  /** Scores a batch of images [B, C, H, W] with values in [0, 1] (bin centres (x + 0.5) / 256 for 8-bit data). */
  async score(x: Float32Array, shape: [number, number, number, number]): Promise<Scores> {
    await this.ready;
    if (x.length !== shape.reduce((a, b) => a * b, 1)) throw new RangeError(`score: ${x.length} values do not fill shape [${shape}]`);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, x, shape });
    });
  }

  async close(): Promise<void> {
    this.worker.postMessage({ close: true });
    await new Promise((r) => this.worker.once("exit", r));
  }
}
