// torch.optim for torchts: optimizers, learning-rate schedules, gradient clipping.
export * from "./optimizer.js";
export * from "./rmsprop.js";
export * from "./adam.js";
export * from "./adamax.js";
export * from "./schedules.js";
export * from "./clip.js";
