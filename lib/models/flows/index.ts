// The flows toolkit: every flow layer behind one FlowLayer interface, and what flow models share.
export * from "./flow-layer.js";
export * from "./actnorm.js";
export * from "./invertible-conv1x1.js";
export * from "./coupling.js";
export * from "./batchnorm.js";
export * from "./ops.js";
export * from "./flow.js";
