// One training step: the objective's loss in bits/dim, backward, gradient clipping, the optimizer's
// update. The trainer runs it, and the benchmarks (bench/glow.ts, bench/memory.ts) time and measure this
// same function, so what they report is what training costs.
import * as torch from "../tensor/index.js";
import { dimsOf, type LogLikelihood } from "../models/density.js";
import { clipGradNormLazy_ } from "../optim/clip.js";

/** What a step needs of a model: the per-example objective, and the shape of one example for bits/dim. */
export interface StepModel {
  readonly imageShape: readonly number[];
  objective(x: torch.Tensor): LogLikelihood;
  parameters(): torch.Tensor[];
}

export interface StepOptimizer {
  zeroGrad(): void;
  step(): void;
}

/** Milliseconds of a step's parts. */
export interface StepPhases {
  /** The objective and the loss. */
  forward: number;
  /** zeroGrad, backward and reading the loss (which waits for the backward on a GPU). */
  backward: number;
  /** Clipping and the optimizer's update. */
  update: number;
}

export interface StepOptions {
  /**
   * The loss's unit: bits/dim (the trainer's, comparable across image sizes) or nats per example (the
   * two-moons flows, whose clipping threshold is in nats). Adam is nearly scale-free, but not exactly.
   */
  lossUnit?: "bits/dim" | "nats";
  /** Clip the global gradient norm to this; 0: no clipping (the norm is still measured). */
  clipNorm: number;
  /** Read the loss and the gradient norm back; on a GPU that waits for the step, so the trainer does it only when it logs. */
  read?: boolean;
  /** The model's parameters, when the caller holds them: saves collecting them every step. */
  params?: torch.Tensor[];
  /** Called with the term that went bad when the loss read back is not finite, before the update: throw to stop there. */
  onNonFinite?: (term: string) => void;
  /** Filled in with the step's timings (the benchmarks). */
  phases?: StepPhases;
}

/** What the trainer logs of a step; NaN where not read. */
export interface StepResult {
  /** Mean loss over the batch, in the step's unit (bits/dim unless told). */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Says which term of the objective went bad, for the error message. */
export function badTerm(r: LogLikelihood): string {
  const bad = (t?: torch.Tensor) => t !== undefined && !t.isfinite().all().item();
  const parts = [bad(r.logPz) && "log p(z)", bad(r.logDet) && "log-det"].filter(Boolean);
  return parts.length ? `non-finite (in ${parts.join(" and ")})` : "non-finite";
}

/** One step on the batch x (the caller's: it is not disposed here). */
export function trainStep(model: StepModel, optimizer: StepOptimizer, x: torch.Tensor, o: StepOptions): StepResult {
  const t0 = performance.now();
  return torch.tidy(() => {
    const r = model.objective(x);
    const loss = r.logPx.mean().mul(o.lossUnit === "nats" ? -1 : -1 / (dimsOf(model.imageShape) * Math.LN2));
    const t1 = performance.now();
    optimizer.zeroGrad();
    loss.backward();
    const out: StepResult = { loss: NaN, gradNorm: NaN };
    if (o.read) {
      out.loss = loss.item();
      if (!Number.isFinite(out.loss)) o.onNonFinite?.(badTerm(r));
    }
    const t2 = performance.now();
    const norm = clipGradNormLazy_(o.params ?? model.parameters(), o.clipNorm > 0 ? o.clipNorm : Infinity);
    if (o.read) out.gradNorm = norm ? norm.item() : 0;
    optimizer.step();
    if (o.phases) Object.assign(o.phases, { forward: t1 - t0, backward: t2 - t1, update: performance.now() - t2 });
    return out;
  });
}
