// Dropout: zeroes each element with probability p in training (scaling the rest by 1/(1-p)); identity in eval.
import { Tensor } from "../tensor/tensor.js";
import { dropout } from "../tensor/functional.js";
import { Module } from "./module.js";

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return this.training && this.p > 0 ? dropout(x, this.p, true) : x;
  }
}
