// Per-example log-likelihoods of a model on a data set: what `eval`, the training loop and every
// analysis read. Deterministic: a fixed seed for the dequantization noise, no shuffling.
import * as torch from "../tensor/index.js";
import { BatchLoader, type ImageDataset } from "../data/index.js";
import { type DensityModel, dimsOf, toBitsPerDim } from "../models/density.js";
import { DEQUANTIZATION_SEED, SCORE_BATCH_SIZE } from "./score-cache.js";

export interface TrainModeSwitch {
  readonly training: boolean;
  train(on?: boolean): unknown;
}

export interface EvalOptions {
  batchSize?: number;
  device?: torch.Device;
  /** Score only the first `limit` images. */
  limit?: number;
  /** Seed of the dequantization noise. */
  seed?: number;
  /** false: bin centres instead of uniform noise. */
  dequantize?: boolean;
}

export interface PerExample {
  logPx: Float64Array;
  bitsPerDim: Float64Array;
  logPz?: Float64Array;
  logDet?: Float64Array;
  /** Multi-scale flows: log p(z) of each code (factored-out ones, then the top). */
  logPzLevels?: Float64Array[];
}

export interface EvalResult extends PerExample {
  name: string;
  n: number;
  mean: { bitsPerDim: number; logPx: number; logPz?: number; logDet?: number };
}

const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;

/** Turns a loader batch into a tensor on the device. */
export function batchTensor(x: Float32Array, shape: readonly number[], device: torch.Device = "cpu"): torch.Tensor {
  const t = torch.tensor(x, { shape: [...shape] });
  if (device === "cpu") return t;
  const d = t.to(device);
  t.dispose();
  return d;
}

export function evaluate(model: DensityModel & TrainModeSwitch, data: ImageDataset, o: EvalOptions = {}): EvalResult {
  const n = Math.min(o.limit ?? data.n, data.n);
  const dims = dimsOf(model.imageShape);
  const loader = new BatchLoader(data, {
    batchSize: o.batchSize ?? SCORE_BATCH_SIZE,
    shuffle: false,
    seed: o.seed ?? DEQUANTIZATION_SEED,
    dequantize: o.dequantize ?? true,
    prefetch: false,
    reuseBuffers: true,
  });
  const out: PerExample = { logPx: new Float64Array(n), bitsPerDim: new Float64Array(n) };
  const wasTraining = model.training;
  model.train(false);
  try {
    let at = 0;
    for (const batch of loader) {
      if (at >= n) break;
      const take = Math.min(batch.shape[0], n - at);
      torch.tidy(() =>
        torch.noGrad(() => {
          let x = batchTensor(batch.x, batch.shape, o.device);
          if (take < batch.shape[0]) x = x.narrow(0, 0, take);
          const r = model.logLikelihood(x);
          out.logPx.set(r.logPx.double().data() as Float64Array, at);
          if (r.logPz) (out.logPz ??= new Float64Array(n)).set(r.logPz.double().data() as Float64Array, at);
          if (r.logDet) (out.logDet ??= new Float64Array(n)).set(r.logDet.double().data() as Float64Array, at);
          if (r.logPzLevels) {
            out.logPzLevels ??= r.logPzLevels.map(() => new Float64Array(n));
            r.logPzLevels.forEach((l, k) => out.logPzLevels![k]!.set(l.double().data() as Float64Array, at));
          }
        }),
      );
      at += take;
    }
  } finally {
    model.train(wasTraining);
  }
  for (let i = 0; i < n; i++) out.bitsPerDim[i] = toBitsPerDim(out.logPx[i]!, dims);
  return {
    name: `${data.name}:${data.split}`,
    n,
    ...out,
    mean: {
      bitsPerDim: mean(out.bitsPerDim),
      logPx: mean(out.logPx),
      ...(out.logPz ? { logPz: mean(out.logPz) } : {}),
      ...(out.logDet ? { logDet: mean(out.logDet) } : {}),
    },
  };
}
