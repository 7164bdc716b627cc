// Gradients: backward over several outputs, torch.autograd.grad (with createGraph for gradients of
// gradients, as Hessian-vector products need), and grad-mode scopes.
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

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
    outs.map((t) => t.handle),
    ins.map((t) => t.handle),
    o.gradOutputs ? o.gradOutputs.map((t) => (t ? t.handle : null)) : null,
    o.retainGraph ?? createGraph,
    createGraph,
    o.allowUnused ?? false,
  );
  return hs.map((h) => (h === null ? null : new Tensor(h)));
}

export function backward(outputs: Tensor[], gradOutputs?: (Tensor | null)[], o: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  native.backward(
    outputs.map((t) => t.handle),
    gradOutputs ? gradOutputs.map((t) => (t ? t.handle : null)) : null,
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
