// A pool of workers (threads, or child processes with isolation "process"), each with its own copy of a
// run's model, that scores images for a service. Requests that arrive together are scored together
// (dynamic batching: up to maxBatch images, or what came within maxWaitMs), and each request gets back its
// own images' answers. The event loop never waits on LibTorch; a worker that dies fails only the requests
// it held (WorkerDiedError) and is replaced. Every worker, replacements included, loads the checkpoint
// bytes read when the pool started (snapshot.ts): the pool serves one model for its whole life.
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { LoadOptions } from "../data/index.js";
import type { ModelEval, ScoreName } from "../ood/scores.js";
import { checkImages } from "./check-batch.js";
import { chooseOodRule, noVerdict, type OodChoice, type OodRule } from "./ood-rule.js";
import type { BatchAnswer, Init } from "./pool-worker.js";
import { readSnapshot, type RunSnapshot } from "./snapshot.js";
import { ProcessWorker } from "./worker-process.js";

export interface PoolOptions {
  /**
   * "thread" (default: as fast, half the memory, BENCHMARKS.md) or "process": each worker a child process, so a native
   * fault (SIGSEGV) ends that worker only; its requests fail (500) and it is replaced.
   */
  isolation?: "thread" | "process";
  /** Worker threads, each with a copy of the model (default: cores / threads). */
  workers?: number;
  /** LibTorch threads per worker (default 1: small batches gain little from more, and workers x threads should fit the cores). */
  threads?: number;
  /** Nice value of the worker threads, 0-19 (default 10): the event loop's thread, at 0, runs first when cores are short. */
  workerNice?: number;
  /** Most images scored in one model call (default 64). */
  maxBatch?: number;
  /** How long the oldest waiting request may wait for others to join its batch (default 2 ms). */
  maxWaitMs?: number;
  /** Most images waiting for a worker; past it score() rejects with QueueFullError (default 2048). */
  maxQueue?: number;
  /** The OOD score of the verdicts (default combined), with its threshold from RUN/ood/*.json. */
  oodScore?: ScoreName;
  /** The ood file to read (default: the newest in RUN/ood/ that has the score). */
  oodFile?: string;
  /** Where the held-out data are (flow-terms evaluates them again at start). */
  data?: LoadOptions;
}

/** One image's answer. */
export interface ImageScore {
  logPx: number;
  bitsPerDim: number;
  logPz?: number;
  logDet?: number;
  /** The verdict, or null with `note` saying why there is none. */
  ood: { score: ScoreName; value: number; threshold: number; isOod: boolean } | null;
  note?: string;
}

export interface PoolInfo {
  run: string;
  kind: string;
  step: number;
  imageShape: [number, number, number];
  /** The checkpoint every worker scores with: its sha256 and size, read when the pool started. */
  checkpoint: { sha256: string; bytes: number };
  isolation: "thread" | "process";
  workers: number;
  threads: number;
  workerNice: number;
  maxBatch: number;
  maxWaitMs: number;
  maxQueue: number;
  ood: { score: ScoreName; threshold: number; file: string; heldOut: string } | { note: string };
}

export interface PoolStats {
  queuedImages: number;
  queuedRequests: number;
  busyWorkers: number;
  workers: number;
  restarts: number;
}

/** The queue holds maxQueue images already: answer 503 and ask the client to come back. */
export class QueueFullError extends Error {
  override name = "QueueFullError";
}
/** The worker scoring this request died; the pool replaced it, the request was not scored. */
export class WorkerDiedError extends Error {
  override name = "WorkerDiedError";
}
/** The pool is closing or closed. */
export class PoolClosedError extends Error {
  override name = "PoolClosedError";
}

interface Job {
  x: Float32Array;
  n: number;
  at: number;
  resolve: (s: ImageScore[]) => void;
  reject: (e: Error) => void;
}
interface Slot {
  worker: Worker | ProcessWorker;
  ready: boolean;
  batch: Job[] | null;
  id: number;
  closing: boolean;
}
interface Loaded {
  kind: string;
  step: number;
}

export interface ScoringPool extends EventEmitter {
  readonly info: PoolInfo;
  /**
   * Scores n images: 8-bit pixels (Uint8Array, scored at bin centres (p + 0.5) / 256) or values in [0, 1]
   * (Float32Array), C x H x W each in the model's shape. One answer per image, in order.
   */
  score(images: Uint8Array | Float32Array, n?: number): Promise<ImageScore[]>;
  stats(): PoolStats;
  /** Scores what was asked for, then stops the workers. Later score() calls reject with PoolClosedError. */
  close(): Promise<void>;
}

function workerPath(): string {
  const here = fileURLToPath(new URL("./pool-worker.js", import.meta.url));
  if (existsSync(here)) return here;
  const dist = fileURLToPath(new URL("../../dist/lib/serve/pool-worker.js", import.meta.url));
  if (existsSync(dist)) return dist;
  throw new Error("the pool worker is not built: run `npm run build:ts`");
}

const positiveInt = (name: string, v: number) => {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`createScoringPool: ${name} must be a positive integer, got ${v}`);
  return v;
};

/** Starts the workers on the run folder `run`; resolves once every worker has loaded the model. */
export async function createScoringPool(run: string, o: PoolOptions = {}): Promise<ScoringPool> {
  if (!existsSync(join(run, "config.json")))
    throw new Error(`createScoringPool: ${run} is not a run folder (no config.json); give a folder written by \`torchts-ood train\``);
  const threads = positiveInt("threads", o.threads ?? 1);
  const workers = positiveInt("workers", o.workers ?? Math.max(1, Math.floor(availableParallelism() / threads)));
  const maxBatch = positiveInt("maxBatch", o.maxBatch ?? 64),
    maxQueue = positiveInt("maxQueue", o.maxQueue ?? 2048);
  const maxWaitMs = o.maxWaitMs ?? 2,
    workerNice = o.workerNice ?? 10;
  if (!(Number.isInteger(workerNice) && workerNice >= 0 && workerNice <= 19))
    throw new RangeError(`createScoringPool: workerNice must be an integer 0-19, got ${workerNice}`);
  if (!(Number.isFinite(maxWaitMs) && maxWaitMs >= 0)) throw new RangeError(`createScoringPool: maxWaitMs must be a number >= 0, got ${maxWaitMs}`);
  const isolation = o.isolation ?? "thread";
  if (isolation !== "thread" && isolation !== "process")
    throw new RangeError(`createScoringPool: isolation must be "thread" or "process", got ${String(isolation)}`);
  const pool = new Pool(run, { isolation, workers, threads, workerNice, maxBatch, maxWaitMs, maxQueue });
  await pool.start(o);
  return pool;
}

class Pool extends EventEmitter implements ScoringPool {
  info!: PoolInfo;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private queuedImages = 0;
  private restarts = 0;
  private failedStarts = 0;
  private nextId = 0;
  private timer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private rule: OodRule | undefined;
  private dims = 0;
  private snapshot!: RunSnapshot;
  /** Set when no worker can be started any more: every call rejects with it. */
  private dead: Error | null = null;
  /** Until every first worker is up, a worker that fails to load fails start() instead of being replaced. */
  private started = false;

  constructor(
    private readonly run: string,
    private readonly cfg: Pick<PoolInfo, "isolation" | "workers" | "threads" | "workerNice" | "maxBatch" | "maxWaitMs" | "maxQueue">,
  ) {
    super();
  }

  async start(o: PoolOptions): Promise<void> {
    this.snapshot = readSnapshot(this.run);
    const imageShape = [...this.snapshot.config.model.imageShape] as [number, number, number];
    this.dims = imageShape.reduce((a, b) => a * b, 1);
    const choice = await chooseOodRule(this.run, o.oodScore ?? "combined", imageShape, {
      ...(o.oodFile ? { file: o.oodFile } : {}),
      ...(o.data ? { data: o.data } : {}),
      checkpointMtimeMs: this.snapshot.mtimeMs,
      refit: (heldOut, n, data) => refitHeldOut(this.run, heldOut, n, data),
    });
    if ("rule" in choice) this.rule = choice.rule;
    let model: Loaded;
    try {
      [model] = (await Promise.all(Array.from({ length: this.cfg.workers }, () => this.spawn()))) as [Loaded];
      this.started = true;
    } catch (e) {
      await this.close();
      throw e;
    }
    // Thresholds computed on another checkpoint belong to another model.
    let ood: OodChoice = choice;
    if ("rule" in choice && choice.rule.step !== undefined && choice.rule.step !== model.step) {
      this.rule = undefined;
      ood = noVerdict(`${choice.rule.file} was computed at step ${choice.rule.step}, the checkpoint is at step ${model.step}; run \`torchts-ood ood\` again`);
    }
    this.info = {
      run: this.run,
      kind: model.kind,
      step: model.step,
      imageShape,
      checkpoint: { sha256: this.snapshot.sha256, bytes: this.snapshot.checkpoint.length },
      ...this.cfg,
      ood: "rule" in ood ? { score: ood.rule.score, threshold: ood.rule.threshold, file: ood.rule.file, heldOut: ood.rule.heldOut } : ood,
    };
  }

  score(images: Uint8Array | Float32Array, n = 1): Promise<ImageScore[]> {
    if (this.closing) return Promise.reject(new PoolClosedError("score: the scoring pool is closed; create a new pool to score more images"));
    if (this.dead) return Promise.reject(this.dead);
    if (!Number.isInteger(n) || n < 1) return Promise.reject(new RangeError(`score: n must be a positive integer (the number of images), got ${n}`));
    const [c, h, w] = this.info.imageShape;
    let x: Float32Array;
    try {
      if (images instanceof Uint8Array) {
        if (images.length !== n * this.dims)
          throw new RangeError(`score: ${images.length} pixels are not ${n} image${n > 1 ? "s" : ""} of ${c}x${h}x${w} (${n * this.dims} pixels)`);
        x = Float32Array.from(images, (p) => (p + 0.5) / 256);
      } else {
        checkImages(images, [n, c, h, w]);
        x = images;
      }
    } catch (e) {
      return Promise.reject(e as Error);
    }
    if (this.queuedImages + n > this.cfg.maxQueue && this.queue.length > 0) {
      return Promise.reject(
        new QueueFullError(
          `the queue holds ${this.queuedImages} images (at most ${this.cfg.maxQueue}): try again shortly, or start the server with more --workers`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ x, n, at: performance.now(), resolve, reject });
      this.queuedImages += n;
      this.dispatch();
    });
  }

  stats(): PoolStats {
    return {
      queuedImages: this.queuedImages,
      queuedRequests: this.queue.length,
      busyWorkers: this.slots.filter((s) => s.batch).length,
      workers: this.slots.filter((s) => s.ready && !s.closing).length,
      restarts: this.restarts,
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Whatever is queued is scored first; then each worker stops once idle.
      while (this.queue.length || this.slots.some((s) => s.batch)) {
        if (!this.slots.some((s) => !s.closing)) break; // no worker left to score them
        this.dispatch();
        await new Promise<void>((r) => this.once("idle", r));
      }
      if (this.timer) clearTimeout(this.timer);
      for (const job of this.queue.splice(0)) job.reject(new PoolClosedError("score: the scoring pool closed before a worker could score this request"));
      this.queuedImages = 0;
      await Promise.all(this.slots.map((s) => this.retire(s)));
    })();
    return this.closing;
  }

  /** Starts a worker; resolves when it has loaded the model, rejects if it dies first. */
  private spawn(): Promise<Loaded> {
    const { config, checkpoint } = this.snapshot;
    const init: Init = { dir: this.run, config, checkpoint, threads: this.cfg.threads, nice: this.cfg.workerNice, ...(this.rule ? { rule: this.rule } : {}) };
    // Threads share the checkpoint's memory; a child process gets its own copy over IPC.
    const worker =
      this.cfg.isolation === "process"
        ? new ProcessWorker(workerPath(), { ...init, checkpoint: new Uint8Array(checkpoint) })
        : new Worker(workerPath(), { workerData: init });
    const slot: Slot = { worker, ready: false, batch: null, id: -1, closing: false };
    this.slots.push(slot);
    let lastError: Error | undefined;
    const ready = new Promise<Loaded>((resolve, reject) => {
      worker.on("message", (m: BatchAnswer | ({ ready: true } & Loaded)) => {
        if ("ready" in m) {
          slot.ready = true;
          this.failedStarts = 0;
          resolve(m);
          this.dispatch();
        } else this.answer(slot, m);
      });
      worker.on("error", (e) => {
        lastError = e;
      });
      worker.once("exit", (code: number, signal?: NodeJS.Signals | null) => {
        this.slots.splice(this.slots.indexOf(slot), 1);
        const why = lastError ? lastError.message : signal ? `signal ${signal}` : `exit code ${code}`;
        if (!slot.ready) reject(new Error(`a scoring worker could not load ${this.run}: ${why}`));
        if (slot.batch) {
          const err = new WorkerDiedError(`the worker scoring this request stopped (${why}); it was replaced: send the request again`);
          for (const job of slot.batch) job.reject(err);
          slot.batch = null;
        }
        if (!slot.closing && !this.closing && this.started) this.replace(slot.ready);
        this.emit("idle");
        this.dispatch();
      });
    });
    ready.catch(() => {}); // reported by start(), or counted by replace()
    return ready;
  }

  private replace(wasReady: boolean): void {
    this.restarts++;
    this.emit("restart");
    // A worker that dies while loading will die again: stop after three in a row, and fail what waits.
    if (!wasReady && ++this.failedStarts >= 3) {
      if (this.slots.some((s) => !s.closing)) return; // others still serve
      this.dead = new WorkerDiedError(`score: the scoring workers died and their replacements failed to load ${this.run} three times; restart the server`);
      for (const job of this.queue.splice(0)) job.reject(this.dead);
      this.queuedImages = 0;
      return;
    }
    void this.spawn();
  }

  private retire(slot: Slot): Promise<void> {
    if (!this.slots.includes(slot)) return Promise.resolve();
    slot.closing = true;
    const gone = new Promise<void>((r) => slot.worker.once("exit", () => r()));
    slot.worker.postMessage({ close: true });
    return gone;
  }

  /** Sends queued requests to idle workers: a full batch at once, a partial one when its oldest has waited maxWaitMs. */
  private dispatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length) {
      const slot = this.slots.find((s) => s.ready && !s.batch && !s.closing);
      if (!slot) return; // a worker that finishes calls dispatch again
      const waited = performance.now() - this.queue[0]!.at;
      if (this.queuedImages < this.cfg.maxBatch && waited < this.cfg.maxWaitMs && !this.closing) {
        this.timer = setTimeout(() => this.dispatch(), this.cfg.maxWaitMs - waited);
        return;
      }
      // Whole requests, up to maxBatch images; a request larger than that is a batch of its own.
      const batch: Job[] = [this.queue.shift()!];
      let n = batch[0]!.n;
      while (this.queue.length && n + this.queue[0]!.n <= this.cfg.maxBatch) {
        n += this.queue[0]!.n;
        batch.push(this.queue.shift()!);
      }
      this.queuedImages -= n;
      const x = batch.length === 1 ? batch[0]!.x : concat(batch, n * this.dims);
      slot.batch = batch;
      slot.id = this.nextId++;
      slot.worker.postMessage({ id: slot.id, x, n });
    }
  }

  private answer(slot: Slot, m: BatchAnswer): void {
    const batch = slot.batch;
    if (!batch || m.id !== slot.id) return;
    slot.batch = null;
    this.emit(
      "batch",
      batch.reduce((k, job) => k + job.n, 0),
      batch.length,
    );
    if (m.error) {
      const err = new Error(`scoring failed: ${m.error}`);
      for (const job of batch) job.reject(err);
    } else {
      let at = 0;
      for (const job of batch) {
        job.resolve(Array.from({ length: job.n }, (_, k) => this.imageScore(m, at + k)));
        at += job.n;
      }
    }
    this.emit("idle");
    this.dispatch();
  }

  private imageScore(m: BatchAnswer, i: number): ImageScore {
    const s: ImageScore = {
      logPx: m.logPx[i]!,
      bitsPerDim: m.bitsPerDim[i]!,
      ...(m.logPz ? { logPz: m.logPz[i]! } : {}),
      ...(m.logDet ? { logDet: m.logDet[i]! } : {}),
      ood: null,
    };
    if (this.rule && m.score) {
      const value = m.score[i]!;
      s.ood = { score: this.rule.score, value, threshold: this.rule.threshold, isOod: value > this.rule.threshold };
    } else if ("note" in this.info.ood) s.note = this.info.ood.note;
    return s;
  }
}

function concat(batch: Job[], size: number): Float32Array {
  const x = new Float32Array(size);
  let at = 0;
  for (const job of batch) {
    x.set(job.x, at);
    at += job.x.length;
  }
  return x;
}

/** flow-terms: held-out log p(z) and log-det, evaluated as `ood` did (same data, noise seed and batch size). */
async function refitHeldOut(run: string, heldOut: string, n: number, data?: LoadOptions): Promise<ModelEval> {
  const [{ openRun, loadSplit }, { evaluate }] = await Promise.all([import("../train/run.js"), import("../train/evaluate.js")]);
  const ds = await loadSplit(heldOut, data);
  const r = openRun(run, "cpu");
  try {
    const e = evaluate(r.model, ds, { limit: n, batchSize: 256 });
    if (!e.logPz || !e.logDet) throw new Error("the model gives no log p(z) and log-det (not a flow)");
    return { logPx: e.logPx, logPz: e.logPz, logDet: e.logDet };
  } finally {
    r.model.dispose();
  }
}
