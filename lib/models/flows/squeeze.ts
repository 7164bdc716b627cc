// Squeeze (RealNVP, Glow): each 2x2 patch into channels, [N, C, H, W] -> [N, 4C, H/2, W/2]; a
// permutation, so its log-det is 0.
import { type Tensor } from "../../tensor/tensor.js";
import { Module } from "../../nn/module.js";
import { type FlowLayer, zeroLogDet } from "./flow-layer.js";
import { squeeze2d, unsqueeze2d } from "./ops.js";

export class Squeeze extends Module implements FlowLayer {
  forward(x: Tensor): [Tensor, Tensor] {
    return [squeeze2d(x), zeroLogDet(x)];
  }
  inverse(y: Tensor): [Tensor, Tensor] {
    return [unsqueeze2d(y), zeroLogDet(y)];
  }
}
