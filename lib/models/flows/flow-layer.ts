// The contract of invertible (normalising-flow) layers such as ActNorm and the invertible 1x1 convolution.
import { type Tensor } from "../../tensor/tensor.js";
import { type Module } from "../../nn/module.js";

export interface FlowLayer extends Module {
  /** y = f(x) and log|det ∂y/∂x| per example (shape [N]). */
  forward(x: Tensor): [Tensor, Tensor];
  /** x = f⁻¹(y) and log|det ∂x/∂y| per example (the negative of forward's). */
  inverse(y: Tensor): [Tensor, Tensor];
}
