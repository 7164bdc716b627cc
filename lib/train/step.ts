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

/** The batch's mean loss in the step's unit. */
const lossOf = (model: StepModel, r: LogLikelihood, o: StepOptions) =>
  r.logPx.mean().mul(o.lossUnit === "nats" ? -1 : -1 / (dimsOf(model.imageShape) * Math.LN2));

/** Reads the loss back when asked (stopping on a non-finite one), before the update. */
function readLoss(loss: torch.Tensor, r: LogLikelihood, o: StepOptions, out: StepResult): void {
  if (!o.read) return;
  out.loss = loss.item();
  if (!Number.isFinite(out.loss)) o.onNonFinite?.(badTerm(r));
}

/** Clipping and the optimizer's update. */
function update(model: StepModel, optimizer: StepOptimizer, o: StepOptions, out: StepResult): void {
  const norm = clipGradNormLazy_(o.params ?? model.parameters(), o.clipNorm > 0 ? o.clipNorm : Infinity);
  if (o.read) out.gradNorm = norm ? norm.item() : 0;
  optimizer.step();
}

/** One step on the batch x (the caller's: it is not disposed here). */
export function trainStep(model: StepModel, optimizer: StepOptimizer, x: torch.Tensor, o: StepOptions): StepResult {
  const t0 = performance.now();
  return torch.tidy(() => {
    const r = model.objective(x);
    const loss = lossOf(model, r, o);
    const t1 = performance.now();
    optimizer.zeroGrad();
    loss.backward();
    const out: StepResult = { loss: NaN, gradNorm: NaN };
    readLoss(loss, r, o, out);
    const t2 = performance.now();
    update(model, optimizer, o, out);
    if (o.phases) Object.assign(o.phases, { forward: t1 - t0, backward: t2 - t1, update: performance.now() - t2 });
    return out;
  });
}

/**
 * The same step with the gradients (and the loss) averaged between backward and the update: data-parallel
 * training (lib/distributed), where `average` runs the collectives off the JS thread, so that every rank
 * takes the same update.
 */
export async function trainStepAveraged(
  model: StepModel,
  optimizer: StepOptimizer,
  x: torch.Tensor,
  o: StepOptions,
  average: (params: torch.Tensor[], loss: torch.Tensor) => Promise<torch.Tensor>,
): Promise<StepResult> {
  const params = o.params ?? model.parameters();
  const b = torch.tidy(() => {
    const r = model.objective(x);
    const loss = lossOf(model, r, o);
    optimizer.zeroGrad();
    loss.backward();
    return { r, loss };
  });
  let loss = b.loss;
  try {
    loss = await average(params, b.loss);
    return torch.tidy(() => {
      const out: StepResult = { loss: NaN, gradNorm: NaN };
      readLoss(loss, b.r, o, out);
      update(model, optimizer, { ...o, params }, out);
      return out;
    });
  } finally {
    torch.dispose([b, loss]);
  }
}
