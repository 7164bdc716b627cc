// torch.nn for torchts: modules, layers, initialisers. (Flow layers live in ../models/flows.)
export * from "./module.js";
export * from "./linear.js";
export * from "./conv.js";
export * from "./batchnorm.js";
export * from "./highway.js";
export * from "./masked-conv.js";
export * from "./dropout.js";
export * from "./sequential.js";
export * from "./activations.js";
export * as init from "./init.js";
