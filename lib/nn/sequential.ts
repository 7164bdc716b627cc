// Sequential: applies its layers in order (as torch.nn.Sequential); they are named "0", "1", ...
// chain(): the same for any list of steps, which every module with a chain of layers uses.
import { Tensor, tidy } from "../tensor/tensor.js";
import { type Layer, ModuleList } from "./module.js";

/**
 * x through each step in order. Each intermediate is freed as soon as the next step has used it
 * (autograd holds its own reference to what backward needs), so the allocator hands its still-cached
 * memory to the next output, as Python's reference counting does. x itself is left to the caller.
 */
export function chain(x: Tensor, steps: Iterable<Layer | ((h: Tensor) => Tensor)>): Tensor {
  let h = x;
  for (const step of steps) {
    const y = typeof step === "function" ? step(h) : step.forward(h);
    if (h !== x && y !== h) h.dispose();
    h = y;
  }
  return h;
}

export class Sequential extends ModuleList<Layer> {
  constructor(...layers: Layer[]) {
    super(layers);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => chain(x, this)); // tidy catches whatever a layer leaves behind
  }
}
