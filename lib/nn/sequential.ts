// Sequential: applies its layers in order (as torch.nn.Sequential); they are named "0", "1", ...
import { Tensor, tidy } from "../tensor/tensor.js";
import { type Layer, ModuleList } from "./module.js";

export class Sequential extends ModuleList<Layer> {
  constructor(...layers: Layer[]) {
    super(layers);
  }
  forward(x: Tensor): Tensor {
    // tidy frees the intermediate activations that the caller never sees (autograd keeps what it needs).
    return tidy(() => {
      let h = x;
      for (const layer of this) h = layer.forward(h);
      return h;
    });
  }
}
