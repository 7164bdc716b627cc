/**
 * BatchLoader: mini-batches of an ImageDataset as Float32Array, shuffled per epoch from a seed,
 * with a JSON state that lets a stopped training run resume on exactly the same batches.
 *
 * Determinism: the permutation of epoch e comes from a shuffle generator whose state at the start
 * of the epoch is saved; the dequantization noise of batch (e, k) comes from a generator seeded by
 * (seed, e, k), so a batch's content does not depend on when it is built. That is what makes
 * prefetching (building batch k+1 in a setImmediate after handing out batch k, while the caller
 * is busy with batch k on the accelerator) invisible in the results. Pixel mutations (background
 * models) are drawn the same way, from a generator seeded by (seed, e, k) on a stream of their own.
 */
import { Rng, type RngState } from "./rng.js";
import { mutatePixels } from "./transforms.js";
import type { ImageDataset } from "./types.js";
import { numberIn, parseWith, positiveInt, z } from "../schema.js";

/** BatchLoader's options as a schema (lib/schema.ts): a typo such as range: "centred" is an error naming the allowed values. */
export const batchLoaderOptionsSchema = z.strictObject(
  {
    batchSize: positiveInt,
    /** Reshuffle every epoch (default true); false keeps data set order (evaluation). */
    shuffle: z.boolean().optional(),
    seed: z.number().int().refine(Number.isSafeInteger, "must be a safe integer").optional(),
    /** Skip the last batch of an epoch when it is smaller than batchSize (default false). */
    dropLast: z.boolean().optional(),
    /** true (default): (x + u)/256, u ~ U[0,1); false: bin centres (x + 0.5)/256. */
    dequantize: z.boolean().optional(),
    /** 'unit' (default): values in [0,1]; 'centered': minus 0.5, values in [-0.5,0.5]. */
    range: z.enum(["unit", "centered"]).optional(),
    /** Build the next batch ahead of time (default true). */
    prefetch: z.boolean().optional(),
    /**
     * Write batches into two buffers used in turn instead of a new array each (default false): a batch's
     * `x` then stays valid only until the following next(). For loops that copy it into a tensor at once;
     * it spares an allocation per step and the garbage that V8 would collect later.
     */
    reuseBuffers: z.boolean().optional(),
    /**
     * Replace each pixel, with this probability, by a level uniform on 0..255 before dequantization
     * (mutatePixels; default 0, none). Fresh mutations each time an image is drawn.
     */
    mutationRate: numberIn("must be in [0, 1]", (r) => r >= 0 && r <= 1).optional(),
  },
  { error: "must be an object of options" },
);
export type BatchLoaderOptions = z.infer<typeof batchLoaderOptionsSchema>;

export interface Batch {
  /** B*C*H*W values, NCHW, transformed as configured. */
  x: Float32Array;
  shape: [number, number, number, number];
  labels?: Int32Array;
  /** Index of each image in the data set. */
  indices: Int32Array;
  epoch: number;
  /** Batch number within the epoch. */
  step: number;
}

export interface LoaderState {
  version: 1;
  seed: number;
  n: number;
  batchSize: number;
  shuffle: boolean;
  dropLast: boolean;
  epoch: number;
  /** Images of the current epoch already handed out. */
  position: number;
  /** Shuffle generator state at the start of the current epoch. */
  epochRng: RngState;
  /** Present when pixels are mutated: a restore must not change what the batches hold. */
  mutationRate?: number;
}

const NOISE_STREAM = 1;
const SHUFFLE_STREAM = 0;
const MUTATION_STREAM = 2;

export class BatchLoader implements Iterable<Batch> {
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  private readonly shuffle: boolean;
  private readonly seed: number;
  private readonly dropLast: boolean;
  private readonly dequantize: boolean;
  private readonly centered: boolean;
  private readonly prefetch: boolean;
  private readonly buffers: Float32Array[] | null;
  private readonly mutationRate: number;
  private readonly mutated: Uint8Array | null; // one image, mutated
  private turn = 0;
  private readonly limit: number; // images handed out per epoch
  private epochIndex = 0;
  private position = 0;
  private epochRng: RngState;
  private nextEpochRng!: RngState;
  private perm!: Int32Array;
  private pending: { epoch: number; position: number; batch: Batch } | undefined;
  private timer: NodeJS.Immediate | undefined;

  constructor(
    readonly dataset: ImageDataset,
    opts: BatchLoaderOptions,
  ) {
    const {
      batchSize,
      shuffle = true,
      seed = 0,
      dropLast = false,
      dequantize = true,
      range = "unit",
      prefetch = true,
      reuseBuffers = false,
      mutationRate = 0,
    } = parseWith(batchLoaderOptionsSchema, opts, "BatchLoader options");
    if (dataset.n < 1) throw new Error(`BatchLoader: ${dataset.name} ${dataset.split} has no images`);
    if (dropLast && batchSize > dataset.n) {
      throw new Error(`BatchLoader: batchSize ${batchSize} > ${dataset.n} images with dropLast gives no batches`);
    }
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.seed = seed;
    this.dropLast = dropLast;
    this.dequantize = dequantize;
    this.centered = range === "centered";
    this.prefetch = prefetch;
    this.buffers = reuseBuffers ? [0, 1].map(() => new Float32Array(batchSize * dataset.channels * dataset.height * dataset.width)) : null;
    this.mutationRate = mutationRate;
    this.mutated = mutationRate > 0 ? new Uint8Array(dataset.channels * dataset.height * dataset.width) : null;
    this.limit = dropLast ? Math.floor(dataset.n / batchSize) * batchSize : dataset.n;
    this.batchesPerEpoch = Math.ceil(this.limit / batchSize);
    this.epochRng = Rng.seeded(seed, SHUFFLE_STREAM).state();
    this.startEpoch();
    this.schedulePrefetch();
  }

  /** Current epoch, 0-based. */
  get epoch(): number {
    return this.epochIndex;
  }

  private startEpoch(): void {
    const rng = Rng.fromState(this.epochRng);
    if (this.shuffle) {
      this.perm = rng.permutation(this.dataset.n);
    } else {
      this.perm = new Int32Array(this.dataset.n);
      for (let i = 0; i < this.perm.length; i++) this.perm[i] = i;
    }
    this.nextEpochRng = rng.state();
  }

  private build(epoch: number, position: number): Batch {
    const ds = this.dataset;
    const b = Math.min(this.batchSize, this.limit - position);
    const size = ds.channels * ds.height * ds.width;
    const indices = this.perm.slice(position, position + b);
    // With reused buffers, consecutive builds alternate, so a prefetch never overwrites the batch just handed out.
    const x = this.buffers ? this.buffers[this.turn++ % 2]!.subarray(0, b * size) : new Float32Array(b * size);
    const step = position / this.batchSize;
    const noise = this.dequantize ? Rng.seeded(this.seed, NOISE_STREAM, epoch, step) : undefined;
    const mutation = this.mutated ? Rng.seeded(this.seed, MUTATION_STREAM, epoch, step) : undefined;
    const shift = this.centered ? 0.5 : 0;
    for (let i = 0; i < b; i++) {
      const image = ds.images.subarray(indices[i] * size, (indices[i] + 1) * size);
      const pixels = mutation ? mutatePixels(image, this.mutationRate, mutation, this.mutated!) : image;
      const dst = i * size;
      for (let j = 0; j < size; j++) {
        const u = noise ? noise.float() : 0.5;
        x[dst + j] = (pixels[j] + u) / 256 - shift;
      }
    }
    const batch: Batch = { x, shape: [b, ds.channels, ds.height, ds.width], indices, epoch, step };
    if (ds.labels) {
      const labels = new Int32Array(b);
      for (let i = 0; i < b; i++) labels[i] = ds.labels[indices[i]];
      batch.labels = labels;
    }
    return batch;
  }

  private cancelPrefetch(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private schedulePrefetch(): void {
    if (!this.prefetch || this.position >= this.limit) return; // epoch boundary: built on demand
    const epoch = this.epochIndex;
    const position = this.position;
    this.timer = setImmediate(() => {
      this.timer = undefined;
      this.pending = { epoch, position, batch: this.build(epoch, position) };
    });
  }

  private advanceEpoch(): void {
    this.cancelPrefetch();
    this.epochIndex += 1;
    this.position = 0;
    this.epochRng = this.nextEpochRng;
    this.startEpoch();
  }

  /** The next batch; after the last batch of an epoch, the next epoch starts (reshuffled). */
  next(): Batch {
    if (this.position >= this.limit) this.advanceEpoch();
    const p = this.pending;
    const batch = p && p.epoch === this.epochIndex && p.position === this.position ? p.batch : this.build(this.epochIndex, this.position);
    this.cancelPrefetch();
    this.position += batch.shape[0];
    this.schedulePrefetch();
    return batch;
  }

  /** The remaining batches of the current epoch (all of the next one when the current is finished). */
  *epochBatches(): Generator<Batch> {
    if (this.position >= this.limit) this.advanceEpoch();
    const epoch = this.epochIndex;
    while (this.epochIndex === epoch && this.position < this.limit) yield this.next();
  }

  [Symbol.iterator](): Iterator<Batch> {
    return this.epochBatches();
  }

  state(): LoaderState {
    const ds = this.dataset;
    return {
      version: 1,
      seed: this.seed,
      n: ds.n,
      batchSize: this.batchSize,
      shuffle: this.shuffle,
      dropLast: this.dropLast,
      epoch: this.epochIndex,
      position: this.position,
      epochRng: { ...this.epochRng, s: [...this.epochRng.s] },
      ...(this.mutationRate > 0 ? { mutationRate: this.mutationRate } : {}),
    };
  }

  /** Resumes from a state() taken from a loader with the same data set and options. */
  restore(state: LoaderState): void {
    const mine = this.state();
    if (state?.version !== 1) throw new Error(`BatchLoader.restore: unknown state version ${JSON.stringify(state?.version)}`);
    for (const k of ["seed", "n", "batchSize", "shuffle", "dropLast", "mutationRate"] as const) {
      if ((state[k] ?? 0) !== (mine[k] ?? 0))
        throw new Error(
          `BatchLoader.restore: the saved state has ${k} = ${state[k] ?? 0}, this loader has ${mine[k] ?? 0}; resume with the same data set and options`,
        );
    }
    if (
      !Number.isInteger(state.epoch) ||
      state.epoch < 0 ||
      !Number.isInteger(state.position) ||
      state.position < 0 ||
      state.position > this.limit ||
      (state.position % this.batchSize !== 0 && state.position !== this.limit)
    ) {
      throw new Error(`BatchLoader.restore: bad epoch/position ${state.epoch}/${state.position}`);
    }
    const rng = Rng.fromState(state.epochRng); // validates
    this.cancelPrefetch();
    this.epochIndex = state.epoch;
    this.position = state.position;
    this.epochRng = rng.state();
    this.startEpoch();
    this.schedulePrefetch();
  }

  /** Cancels a pending prefetch (lets the process exit at once). */
  dispose(): void {
    this.cancelPrefetch();
  }
}
