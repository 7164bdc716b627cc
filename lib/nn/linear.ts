// Linear: y = x Wᵀ + b, with PyTorch's default initialisation.
import { Tensor } from "../tensor/tensor.js";
import { empty, type TensorOptions } from "../tensor/creation.js";
import { linear } from "../tensor/functional.js";
import { Module } from "./module.js";
import { kaimingUniform_, uniform_ } from "./init.js";

export interface LinearOptions extends Pick<TensorOptions, "dtype" | "device"> {
  bias?: boolean;
}

export class Linear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: LinearOptions = {},
  ) {
    super();
    const f = { dtype: o.dtype, device: o.device };
    this.param("weight", kaimingUniform_(empty([outFeatures, inFeatures], f)));
    const bound = 1 / Math.sqrt(inFeatures);
    if (o.bias ?? true) this.param("bias", uniform_(empty([outFeatures], f), -bound, bound));
  }
  get weight(): Tensor {
    return this.getParameter("weight");
  }
  get bias(): Tensor | null {
    return this.findParameter("bias");
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
