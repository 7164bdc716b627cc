// One file holds everything a run needs to continue exactly: model weights and buffers, optimizer
// state, the data loader's position, LibTorch's generator state and the step. Written atomically
// (temporary file + rename), so a crash mid-write leaves the previous checkpoint intact; the temporary
// file such a crash leaves is removed when the folder is next trained in (run-files.ts).
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { dirname } from "node:path";
import * as torch from "../tensor/index.js";
import { fsyncDir } from "./run-files.js";

export const CHECKPOINT_FORMAT = "torchts-ood-checkpoint/1";

export interface CheckpointParts {
  step: number;
  model: Record<string, torch.Tensor>;
  optimizer: Record<string, torch.Tensor>;
  /** JSON-able states: optimizer scalars, data loader position, anything else. */
  state: Record<string, unknown>;
}

export function saveCheckpoint(path: string, parts: CheckpointParts): void {
  torch.tidy(() => {
    const tensors: Record<string, torch.Tensor> = { "rng.cpu": torch.getRngState() };
    for (const [k, t] of Object.entries(parts.model)) tensors[`model.${k}`] = t;
    for (const [k, t] of Object.entries(parts.optimizer)) tensors[`optim.${k}`] = t;
    torch.saveSafetensors(path, tensors, { format: CHECKPOINT_FORMAT, step: String(parts.step), state: JSON.stringify(parts.state) });
  });
  fsyncDir(dirname(path)); // the rename itself, durable
}

/**
 * Names of the tensors holding NaN or Inf (integer tensors are always finite). One reduction per tensor
 * and a single read back, so a GPU syncs once.
 */
export function nonFiniteTensors(tensors: Record<string, torch.Tensor>): string[] {
  const names = Object.keys(tensors);
  if (!names.length) return [];
  const ok = torch.tidy(() => torch.stack(names.map((k) => tensors[k]!.isfinite().all())).toFlatArray());
  return names.filter((_, i) => !ok[i]);
}

/** "a, b, c, and 4 more": tensor names in an error message. */
export const someOf = (names: string[]) => names.slice(0, 3).join(", ") + (names.length > 3 ? `, and ${names.length - 3} more` : "");

/** The step a checkpoint was written at, from its header alone (the tensors are not read). */
export function checkpointStep(path: string): number {
  const fd = openSync(path, "r");
  try {
    const len = Buffer.alloc(8);
    const bad = () => new Error(`${path} is not a valid safetensors file: the header cannot be read (truncated or not safetensors)`);
    if (readSync(fd, len, 0, 8, 0) !== 8) throw bad();
    const n = Number(len.readBigUInt64LE(0));
    if (n < 2 || n > 100_000_000) throw bad();
    const header = Buffer.alloc(n);
    if (readSync(fd, header, 0, n, 8) !== n) throw bad();
    let meta: Record<string, string> | undefined;
    try {
      meta = (JSON.parse(header.toString("utf8")) as { __metadata__?: Record<string, string> }).__metadata__;
    } catch {
      throw bad();
    }
    if (meta?.format !== CHECKPOINT_FORMAT)
      throw new Error(`${path} is a safetensors file but not a torchts-ood checkpoint (format '${meta?.format ?? "none"}')`);
    return Number(meta.step);
  } finally {
    closeSync(fd);
  }
}

export interface LoadedCheckpoint extends CheckpointParts {
  rng?: torch.Tensor;
}

/**
 * Reads a checkpoint (from `bytes` already read from `path`, when given); a file that is not one says so.
 * Tensors are the caller's to dispose.
 */
export function loadCheckpoint(path: string, bytes?: Uint8Array): LoadedCheckpoint {
  if (!bytes && !existsSync(path)) throw new Error(`no checkpoint at ${path}`);
  const { tensors, metadata } = torch.loadSafetensors(path, bytes);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    torch.dispose(tensors);
    throw new Error(`${path} is a safetensors file but not a torchts-ood checkpoint (format '${metadata.format ?? "none"}')`);
  }
  const out: LoadedCheckpoint = { step: Number(metadata.step), model: {}, optimizer: {}, state: JSON.parse(metadata.state ?? "{}") };
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith("model.")) out.model[k.slice(6)] = t;
    else if (k.startsWith("optim.")) out.optimizer[k.slice(6)] = t;
    else if (k === "rng.cpu") out.rng = t;
    else t.dispose();
  }
  return out;
}
