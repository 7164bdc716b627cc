// Learning-rate schedules as pure functions of the step (0-based count of updates done so far).
// Compose by passing a schedule where a base rate is expected: linearWarmup(piecewiseConstant(...), 500).
import { type Optimizer } from "./optimizer.js";

export type Schedule = (step: number) => number;
const asSchedule = (base: number | Schedule): Schedule => (typeof base === "number" ? () => base : base);

export const constant =
  (lr: number): Schedule =>
  () =>
    lr;

/**
 * base * factors[i] from step boundaries[i] on (base before the first boundary). The paper's Glow halves
 * at 80K and 90K: piecewiseConstant(lr, [80000, 90000], [0.5, 0.25]); its CIFAR PixelCNN divides by 3 at
 * 120K, 180K and 195K: piecewiseConstant(lr, [120000, 180000, 195000], [1/3, 1/9, 1/27]).
 */
export function piecewiseConstant(base: number | Schedule, boundaries: number[], factors: number[]): Schedule {
  if (boundaries.length !== factors.length)
    throw new Error(`piecewiseConstant: ${boundaries.length} boundaries but ${factors.length} factors (one factor per boundary)`);
  for (let i = 1; i < boundaries.length; i++)
    if (!(boundaries[i]! > boundaries[i - 1]!)) throw new Error(`piecewiseConstant: boundaries must increase, got [${boundaries}]`);
  const inner = asSchedule(base);
  return (step) => {
    let f = 1;
    for (let i = 0; i < boundaries.length && step >= boundaries[i]!; i++) f = factors[i]!;
    return inner(step) * f;
  };
}

/** Ramps linearly up to base: base * min(1, (step+1)/warmupSteps), so the first update is not wasted. */
export function linearWarmup(base: number | Schedule, warmupSteps: number): Schedule {
  if (!(warmupSteps >= 0)) throw new Error(`linearWarmup: warmupSteps must be >= 0, got ${warmupSteps}`);
  const inner = asSchedule(base);
  return (step) => inner(step) * (warmupSteps > 0 ? Math.min(1, (step + 1) / warmupSteps) : 1);
}

/** The product of schedules at each step: a rate times factor schedules (e.g. multiply(constant(1e-3), decay)). */
export function multiply(first: Schedule, ...factors: Schedule[]): Schedule {
  return (step) => factors.reduce((lr, f) => lr * f(step), first(step));
}

/** Sets the optimizer's rate for this step; returns it (for logging). */
export function applySchedule(opt: Optimizer, schedule: Schedule, step: number): number {
  return (opt.lr = schedule(step));
}
