// Loads the C++ addon (build/Release/torchts.node) and types its small, generic surface.
// Tensors cross the boundary as numeric handles; see native/addon.cc.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyAllocatorPolicy } from "./allocator.js";

export type Handle = number;
/** What an op returns: a handle, several, a number/boolean, or nothing. */
export type NativeResult = Handle | null | boolean | undefined | NativeResult[];

export interface NativeAddon {
  op(schema: string): number;
  call(op: number, ...args: unknown[]): NativeResult;
  callAsync(op: number, ...args: unknown[]): Promise<NativeResult>;
  free(h: Handle | Handle[]): void;
  shape(h: Handle): number[];
  dtype(h: Handle): number;
  device(h: Handle): string;
  requiresGrad(h: Handle): boolean;
  fromBuffer(data: ArrayBufferView, shape: number[], dtype: number): Handle;
  toBuffer(h: Handle): ArrayBuffer;
  item(h: Handle): number | boolean;
  backward(outputs: Handle[], grads: (Handle | null)[] | null, retainGraph?: boolean, createGraph?: boolean): void;
  grad(h: Handle): Handle | null;
  setGrad(h: Handle, g: Handle | null): void;
  autogradGrad(
    outputs: Handle[], inputs: Handle[], gradOutputs: (Handle | null)[] | null,
    retainGraph: boolean | undefined, createGraph: boolean, allowUnused: boolean,
  ): (Handle | null)[];
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  manualSeed(seed: number): void;
  getRngState(): Handle;
  setRngState(state: Handle): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaDeviceCount(): number;
  /** glibc mallopt(M_MMAP_THRESHOLD, M_TRIM_THRESHOLD); false where not glibc or refused. */
  mallocOptions(mmapThreshold: number, trimThreshold: number): boolean;
  stats(): { liveTensors: number; bytes: number; ops: number; unboxedOps: number };
  version(): string;
}

function findAddon(): string {
  // Works from lib/tensor (vitest, tsx) and from dist/lib/tensor (compiled).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, "build", "Release", "torchts.node");
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error(
    "torchts-ood: the native addon build/Release/torchts.node is missing. Build it with `npm run build:native` " +
      "(needs LibTorch: `bash scripts/setup.sh` installs what is missing).",
  );
}

const require = createRequire(import.meta.url);
export const native: NativeAddon = require(findAddon()) as NativeAddon;
applyAllocatorPolicy(native);
