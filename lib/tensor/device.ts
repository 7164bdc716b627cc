// Devices as PyTorch names them: "cpu", "cuda", "cuda:1".
import { native } from "./native.js";

export type Device = "cpu" | "cuda" | `cuda:${number}`;

export function parseDevice(d: string): Device {
  if (d === "cpu" || d === "cuda" || /^cuda:\d+$/.test(d)) return d as Device;
  throw new TypeError(`unknown device '${d}' (expected 'cpu', 'cuda' or 'cuda:N')`);
}

export const cuda = {
  isAvailable: (): boolean => native.cudaDeviceCount() > 0,
  deviceCount: (): number => native.cudaDeviceCount(),
};

/** The device to use when none is given: CUDA when this LibTorch and machine have it, else CPU. */
export const defaultDevice = (): Device => (cuda.isAvailable() ? "cuda" : "cpu");
