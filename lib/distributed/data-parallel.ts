// Data-parallel training over a process group, as PyTorch's DistributedDataParallel: every rank holds the
// whole model, takes its share of each global batch, and the gradients are averaged over the ranks in
// buckets after backward, so that every rank makes the same update and the weights stay identical.
//
// The batches: every rank draws the same global batch (the same shuffle seed, so the same permutation each
// epoch, and the same dequantization noise) and keeps its contiguous share: rank r of W takes images
// [r*B/W, (r+1)*B/W). W ranks at B/W each therefore see exactly what one process at B sees, and the loader
// state in a checkpoint is that of the global batches: a run resumes with any number of processes that
// divides the batch size. Building the whole batch costs each rank B images of noise, which is little next
// to a model's step.
import * as torch from "../tensor/index.js";
import type { Device } from "../tensor/index.js";
import type { ProcessGroup } from "./process-group.js";

/** A batch as the loader hands it out: B images, NCHW. */
export interface BatchView {
  x: Float32Array;
  shape: readonly number[];
}

/** What data parallelism needs of a model. */
export interface ReplicatedModel {
  objective(x: torch.Tensor): { logPx: torch.Tensor };
  stateDict(): Record<string, torch.Tensor>;
  train(on?: boolean): unknown;
}

/** What the training loop (lib/train/trainer.ts) calls; DataParallel implements it. */
export interface DataParallelStep {
  /** Rank 0: the only process that writes the run folder (checkpoints, metrics, logs). */
  readonly isMain: boolean;
  /** Before the first step: the same starting state on every rank. */
  begin(model: ReplicatedModel, globalBatch: BatchView, device: Device): Promise<void>;
  /** This rank's share of a global batch. */
  shard(globalBatch: BatchView): BatchView;
  /** Averages the gradients of params over the ranks, in place; resolves to the loss averaged likewise (a new tensor). */
  averageGradients(params: torch.Tensor[], loss: torch.Tensor): Promise<torch.Tensor>;
}

export interface DataParallelOptions {
  /** Gradients are reduced in flat buckets of about this many bytes (default 25 MB, as PyTorch's DDP). */
  bucketBytes?: number;
}

interface Bucket {
  params: torch.Tensor[];
  numel: number;
}

export class DataParallel implements DataParallelStep {
  private readonly bucketBytes: number;
  private buckets: Bucket[] = [];
  private bucketsFor: torch.Tensor[] | null = null;

  constructor(
    readonly group: ProcessGroup,
    o: DataParallelOptions = {},
  ) {
    this.bucketBytes = o.bucketBytes ?? 25 * 2 ** 20;
  }

  get rank(): number {
    return this.group.rank;
  }
  get size(): number {
    return this.group.size;
  }
  get isMain(): boolean {
    return this.group.rank === 0;
  }

  /**
   * Layers that initialise from their first batch (Glow's ActNorm, whose `initialized` buffer is 0 until
   * then) are initialised here from the whole global batch, on every rank, as one process would from its
   * first batch; then every parameter and buffer takes rank 0's values, so the ranks start bitwise equal.
   */
  async begin(model: ReplicatedModel, globalBatch: BatchView, device: Device): Promise<void> {
    const b = globalBatch.shape[0]!;
    if (b % this.size !== 0) {
      throw new Error(
        `the batch size ${b} is not divisible by the ${this.size} processes: each takes an equal share of every batch (choose a --batch-size that is a multiple of ${this.size})`,
      );
    }
    if (needsDataInit(model)) {
      const rng = torch.getRngState();
      try {
        torch.tidy(() =>
          torch.noGrad(() => {
            const x = torch.tensor(globalBatch.x, { shape: [...globalBatch.shape] });
            model.objective(device === "cpu" ? x : x.to(device));
          }),
        );
      } finally {
        torch.setRngState(rng);
        rng.dispose();
      }
    }
    await this.group.broadcast(Object.values(model.stateDict()), 0);
  }

  shard(globalBatch: BatchView): BatchView {
    const [b, ...image] = globalBatch.shape as number[];
    const per = b! / this.size;
    const size = image.reduce((p, d) => p * d, 1);
    return { x: globalBatch.x.subarray(this.rank * per * size, (this.rank + 1) * per * size), shape: [per, ...image] };
  }

  async averageGradients(params: torch.Tensor[], loss: torch.Tensor): Promise<torch.Tensor> {
    const buckets = this.bucketsOf(params);
    // A parameter without a gradient adds zeros and stays without one (it must be unused on every rank).
    const flats = torch.tidy(() =>
      buckets.map((b) =>
        torch.cat(
          b.params.map((p) => {
            const g = p.grad;
            return g ? g.reshape([-1]) : torch.zeros([p.numel], { dtype: p.dtype, device: p.device });
          }),
        ),
      ),
    );
    const meanLoss = torch.tidy(() => loss.detach().reshape([1]).clone());
    try {
      await this.group.allreduce([...flats, meanLoss], "sum");
      torch.tidy(() => {
        for (const [i, b] of buckets.entries()) {
          const flat = flats[i]!.mul_(1 / this.size);
          let offset = 0;
          for (const p of b.params) {
            const n = p.numel,
              g = p.grad;
            if (g) g.copy_(flat.narrow(0, offset, n).view(p.shape));
            offset += n;
          }
        }
      });
      meanLoss.mul_(1 / this.size);
      return torch.tidy(() => meanLoss.reshape([]).clone());
    } finally {
      torch.dispose([flats, meanLoss]);
    }
  }

  /** Consecutive parameters of one dtype and device, up to bucketBytes each; made once per parameter list. */
  private bucketsOf(params: torch.Tensor[]): Bucket[] {
    if (this.bucketsFor === params) return this.buckets;
    const buckets: Bucket[] = [];
    let cur: Bucket | null = null,
      bytes = 0,
      kind = "";
    for (const p of params) {
      const k = `${p.dtype}@${p.device}`,
        pb = p.numel * bytesOf(p.dtype);
      if (!cur || k !== kind || (bytes + pb > this.bucketBytes && cur.params.length)) {
        cur = { params: [], numel: 0 };
        buckets.push(cur);
        bytes = 0;
        kind = k;
      }
      cur.params.push(p);
      cur.numel += p.numel;
      bytes += pb;
    }
    this.buckets = buckets;
    this.bucketsFor = params;
    return buckets;
  }
}

const bytesOf = (d: torch.DType): number => (/64/.test(d) ? 8 : /16/.test(d) ? 2 : /8|bool/.test(d) ? 1 : 4);

/** Whether a layer of the model still waits for its first batch to initialise (an `initialized` buffer at 0). */
export function needsDataInit(model: ReplicatedModel): boolean {
  return Object.entries(model.stateDict()).some(([k, t]) => /(^|\.)initialized$/.test(k) && t.item() === 0);
}
