// Loads the C++ addon (build/Release/torchts.node) and types its small, generic surface.
// Tensors cross the boundary as numeric handles; see native/handles.h.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyAllocatorPolicy } from "./allocator.js";

export type Handle = number;
/** What an op returns: a handle, several, a number/boolean, or nothing. */
export type NativeResult = Handle | null | boolean | undefined | NativeResult[];

/** An op's schema as LibTorch's dispatcher holds it (the real types: ScalarType, not int). */
export interface OpSchema {
  arguments: { name: string; type: string; hasDefault: boolean; keywordOnly: boolean }[];
  returns: string[];
}

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
    outputs: Handle[],
    inputs: Handle[],
    gradOutputs: (Handle | null)[] | null,
    retainGraph: boolean | undefined,
    createGraph: boolean,
    allowUnused: boolean,
  ): (Handle | null)[];
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  manualSeed(seed: number): void;
  opSchema(op: number): OpSchema;
  getRngState(): Handle;
  setRngState(state: Handle): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaDeviceCount(): number;
  /** glibc mallopt(M_MMAP_THRESHOLD, M_TRIM_THRESHOLD); false where not glibc or refused. */
  mallocOptions(mmapThreshold: number, trimThreshold: number): boolean;
  stats(): { liveTensors: number; bytes: number; ops: number; unboxedOps: number };
  version(): string;
  /** Which c10d process groups this build can make (native/dist.cc); `missing` says why Gloo is absent. */
  distBackends(): { gloo: boolean; nccl: boolean; missing: string };
  /** Joins a process group (lib/distributed wraps it). */
  distInit(o: NativeDistInit): Promise<NativeProcessGroup>;
}

/** distInit's options: the store at host:port (rank 0 serves it), and the group's backend. */
export interface NativeDistInit {
  host: string;
  port: number;
  rank: number;
  size: number;
  timeoutMs: number;
  backend: "gloo" | "nccl";
  /** gloo: the address to listen on, or "iface:NAME"; "" for this host's name. */
  bind?: string;
  /** nccl: the CUDA device. */
  device?: number;
}

/** A c10d process group: each call enqueues its collectives at once, in order, and settles when they are done. */
export interface NativeProcessGroup {
  readonly rank: number;
  readonly size: number;
  readonly backend: "gloo" | "nccl";
  allreduce(tensors: Handle[], op: "sum" | "max" | "min" | "product"): Promise<void>;
  broadcast(tensors: Handle[], root: number): Promise<void>;
  barrier(): Promise<void>;
  close(): Promise<void>;
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

// The names of the addon's functions, checked against NativeAddon by the compiler both ways.
const FUNCTIONS = [
  "op",
  "call",
  "callAsync",
  "free",
  "shape",
  "dtype",
  "device",
  "requiresGrad",
  "fromBuffer",
  "toBuffer",
  "item",
  "backward",
  "grad",
  "setGrad",
  "autogradGrad",
  "setGradEnabled",
  "isGradEnabled",
  "manualSeed",
  "opSchema",
  "getRngState",
  "setRngState",
  "setNumThreads",
  "getNumThreads",
  "cudaDeviceCount",
  "mallocOptions",
  "stats",
  "version",
  "distBackends",
  "distInit",
] as const satisfies readonly (keyof NativeAddon)[];
type Missing = Exclude<keyof NativeAddon, (typeof FUNCTIONS)[number]>;
const allListed: Missing extends never ? true : Missing = true;
void allListed;

let loaded = false;

/** Loads the addon (LibTorch and, with the PyPI wheel, its CUDA libraries) now, if not yet loaded. */
export function loadNative(): NativeAddon {
  if (!loaded) {
    const addon = createRequire(import.meta.url)(findAddon()) as NativeAddon;
    // Replace the loading stubs by the addon's own functions: after the first call, `native.call` is
    // the native function itself, with no indirection on the hot path.
    for (const f of FUNCTIONS) (native as unknown as Record<string, unknown>)[f] = addon[f];
    loaded = true;
    applyAllocatorPolicy(native);
  }
  return native;
}

/** Whether the addon has been loaded in this thread (tests check that --help does not load it). */
export const isNativeLoaded = (): boolean => loaded;

/**
 * The addon, loaded on first use: importing the library costs no LibTorch load (about 5 s and 500 MB
 * with the CUDA wheel, BENCHMARKS.md), so `torchts-ood --help` and modules that never touch a tensor
 * stay light. Every function starts as a stub that loads the addon and then calls the real one.
 */
export const native = Object.fromEntries(
  FUNCTIONS.map((f) => [f, (...args: unknown[]) => (loadNative()[f] as (...a: unknown[]) => unknown)(...args)]),
) as unknown as NativeAddon;
