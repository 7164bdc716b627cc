// The flows toolkit: every flow layer behind one FlowLayer interface, FlowChain (the one place their
// log-dets are summed) and the Flow base that Glow and RealNVP build from a list of layers.
export * from "./flow-layer.js";
export * from "./chain.js";
export * from "./preprocess.js";
export * from "./actnorm.js";
export * from "./invertible-conv1x1.js";
export * from "./coupling.js";
export * from "./masked-coupling.js";
export * from "./vector-coupling.js";
export * from "./batchnorm.js";
export * from "./squeeze.js";
export * from "./split.js";
export * from "./ops.js";
export * from "./flow.js";
