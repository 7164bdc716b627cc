// torch.nn for torchts: modules, layers, initialisers.
export * from "./module.js";
export * from "./flow-layer.js";
export * from "./linear.js";
export * from "./conv.js";
export * from "./batchnorm.js";
export * from "./actnorm.js";
export * from "./invertible-conv1x1.js";
export * from "./highway.js";
export * from "./masked-conv.js";
export * from "./dropout.js";
export * from "./sequential.js";
export * from "./activations.js";
export * as init from "./init.js";
