// Flag checks shared by the commands: impossible values are one-line errors, not crashes later.
import { parseDevice, cuda, setNumThreads, type Device } from "../../lib/tensor/index.js";

export function positiveInt(name: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return v;
}

export function positiveNumber(name: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`--${name} must be a positive number, got ${v}`);
  return v;
}

export function deviceOption(v: string | undefined): Device | undefined {
  if (v === undefined) return undefined;
  const d = parseDevice(v);
  if (d !== "cpu" && !cuda.isAvailable()) throw new Error(`--device ${v}: this LibTorch sees no CUDA device (use --device cpu)`);
  return d;
}

export const dataOptions = (dataDir?: string, download?: boolean) => ({ ...(dataDir ? { dataDir } : {}), download: download ?? false });

/** --threads: LibTorch's intra-op threads (default: LibTorch's, one per core). */
export function applyThreads(v: number | undefined): void {
  if (v !== undefined) setNumThreads(positiveInt("threads", v)!);
}
