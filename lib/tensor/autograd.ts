// Gradients: backward over several outputs, torch.autograd.grad (with createGraph for gradients of
// gradients, as Hessian-vector products need), and grad-mode scopes.
import { native } from "./native.js";
import { Tensor } from "./tensor.js";
import { describeValue } from "./describe.js";

/** Tensors (or, with nulls, Tensors and nulls) as handles; a number or anything else is an error, not "none". */
function handles(fn: string, what: string, ts: readonly unknown[], nulls: boolean): (number | null)[] {
  return ts.map((t, i) => {
    if (t instanceof Tensor) return t.handle;
    if (nulls && t === null) return null;
    throw new TypeError(`${fn}(): ${what}[${i}] must be a Tensor${nulls ? " or null" : ""}, got ${describeValue(t)}`);
  });
}

export interface GradOptions {
  gradOutputs?: (Tensor | null)[];
  retainGraph?: boolean;
  createGraph?: boolean;
  allowUnused?: boolean;
}

/** d(sum of outputs · gradOutputs)/d(inputs); unused inputs give null with allowUnused. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], o: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const createGraph = o.createGraph ?? false;
  const hs = native.autogradGrad(
    handles("grad", "outputs", outs, false) as number[],
    handles("grad", "inputs", ins, false) as number[],
    o.gradOutputs ? handles("grad", "gradOutputs", o.gradOutputs, true) : null,
    o.retainGraph ?? createGraph,
    createGraph,
    o.allowUnused ?? false,
  );
  return hs.map((h) => (h === null ? null : new Tensor(h)));
}

export function backward(outputs: Tensor[], gradOutputs?: (Tensor | null)[], o: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  native.backward(
    handles("backward", "outputs", outputs, false) as number[],
    gradOutputs ? handles("backward", "gradOutputs", gradOutputs, true) : null,
    o.retainGraph,
    o.createGraph ?? false,
  );
}

function withGradMode<T>(on: boolean, fn: () => T): T {
  const prev = native.setGradEnabled(on);
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError("noGrad/enableGrad take a synchronous function (grad mode is per thread)");
    return r;
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs fn without recording the autograd graph (as `with torch.no_grad()`). */
export const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);
export const enableGrad = <T>(fn: () => T): T => withGradMode(true, fn);
export const isGradEnabled = (): boolean => native.isGradEnabled();
