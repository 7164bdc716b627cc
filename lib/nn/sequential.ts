// Sequential: applies its layers in order (as torch.nn.Sequential); they are named "0", "1", ...
import { Tensor, tidy } from "../tensor/tensor.js";
import { type Layer, ModuleList } from "./module.js";

export class Sequential extends ModuleList<Layer> {
  constructor(...layers: Layer[]) {
    super(layers);
  }
  forward(x: Tensor): Tensor {
    // Each intermediate activation is freed as soon as the next layer has used it (autograd holds its
    // own reference to what backward needs), so the allocator hands its still-cached memory to the next
    // layer's output, as Python's reference counting does. tidy catches whatever a layer leaves behind.
    return tidy(() => {
      let h = x;
      for (const layer of this) {
        const y = layer.forward(h);
        if (h !== x && y !== h) h.dispose();
        h = y;
      }
      return h;
    });
  }
}
