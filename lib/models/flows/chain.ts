// FlowChain: the one place log-dets are chained. It runs a list of flow layers in order (inverse in
// reverse) and sums their log-dets in that order; a layer that is itself a chain (Glow's step, a RealNVP
// scale's couplings) adds its own sum as one term, so each model's summation order, and with it every
// bit of its log p(x), is fixed by how it nests its layers.
import { type Tensor } from "../../tensor/tensor.js";
import { ModuleList } from "../../nn/module.js";
import { type FactoredCodes, type FlowLayer } from "./flow-layer.js";

/**
 * Flow layers run in order. The chain does not own its layers: whoever builds it registers them (a
 * model under its checkpoint names, or a FlowLayerList under "0", "1", ...).
 */
export class FlowChain<L extends FlowLayer = FlowLayer> implements Iterable<L> {
  constructor(readonly layers: readonly L[]) {
    if (!layers.length) throw new Error("FlowChain: no layers");
  }

  /** x -> y through every layer, and the sum of their log-dets ([N]). */
  forward(x: Tensor, codes?: FactoredCodes): [Tensor, Tensor] {
    let logDet: Tensor | null = null;
    for (const layer of this.layers) {
      const [y, ld] = layer.forward(x, codes);
      x = y;
      logDet = logDet ? logDet.add(ld) : ld;
    }
    return [x, logDet!];
  }

  /** y -> x through every layer's inverse, last layer first, and the sum of their log-dets. */
  inverse(y: Tensor, codes?: FactoredCodes): [Tensor, Tensor] {
    let logDet: Tensor | null = null;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const [x, ld] = this.layers[i]!.inverse(y, codes);
      y = x;
      logDet = logDet ? logDet.add(ld) : ld;
    }
    return [y, logDet!];
  }

  [Symbol.iterator](): Iterator<L> {
    return this.layers[Symbol.iterator]();
  }
}

/** Flow layers registered as "0", "1", ... (as ModuleList) that act as one layer: their chain. */
export class FlowLayerList<L extends FlowLayer = FlowLayer> extends ModuleList<L> implements FlowLayer {
  forward(x: Tensor, codes?: FactoredCodes): [Tensor, Tensor] {
    return new FlowChain([...this]).forward(x, codes);
  }
  inverse(y: Tensor, codes?: FactoredCodes): [Tensor, Tensor] {
    return new FlowChain([...this]).inverse(y, codes);
  }
}
