// One file holds everything a run needs to continue exactly: model weights and buffers, optimizer
// state, the data loader's position, LibTorch's generator state and the step. Written atomically
// (temporary file + rename), so a crash mid-write leaves the previous checkpoint intact; the temporary
// file such a crash leaves is removed when the folder is next trained in (run-files.ts).
import { closeSync, existsSync } from "node:fs";
import { openRegularFile, readExactly } from "../files.js";
import { describeIssues, imageShapeSchema, z } from "../schema.js";
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
  /** [C, H, W] the model was built for: recorded so a config.json edited to another size is caught. */
  imageShape?: readonly number[];
}

/** A JSON document inside a metadata string, parsed, or an issue saying it is not JSON. */
const jsonIn = <S extends z.ZodType>(inner: S, what: string) =>
  z.string().transform((text, ctx): z.output<S> => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: `is not JSON (${(e as Error).message}): ${what}` });
      return z.NEVER;
    }
    const r = inner.safeParse(v);
    if (!r.success) {
      for (const p of describeIssues(r.error, v)) ctx.addIssue({ code: "custom", message: p, params: { valueShown: true } });
      return z.NEVER;
    }
    return r.data;
  });

/** The checkpoint's __metadata__: every value a string, as safetensors stores them. */
const checkpointMetaSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  step: z.string({ error: "must be the step as a decimal string" }).regex(/^\d+$/, { error: "must be a whole number of steps" }).transform(Number),
  state: jsonIn(z.record(z.string(), z.unknown()), "the optimizer and loader state").optional(),
  imageShape: jsonIn(imageShapeSchema, "the model's image shape").optional(),
});
type CheckpointMeta = z.output<typeof checkpointMetaSchema>;

/** The metadata checked, or an error naming the file, the field and what to do. */
function checkMeta(path: string, meta: Record<string, unknown> | undefined): CheckpointMeta {
  if (meta?.format !== CHECKPOINT_FORMAT)
    throw new Error(`${path} is a safetensors file but not a torchts-ood checkpoint (format '${meta?.format ?? "none"}')`);
  const r = checkpointMetaSchema.safeParse(meta);
  if (!r.success)
    throw new Error(
      `${path}: the checkpoint's metadata is damaged: ${describeIssues(r.error, meta, "__metadata__").join("; ")}. Resume from another copy or train the run again`,
    );
  return r.data;
}

export function saveCheckpoint(path: string, parts: CheckpointParts): void {
  torch.tidy(() => {
    const tensors: Record<string, torch.Tensor> = { "rng.cpu": torch.getRngState() };
    for (const [k, t] of Object.entries(parts.model)) tensors[`model.${k}`] = t;
    for (const [k, t] of Object.entries(parts.optimizer)) tensors[`optim.${k}`] = t;
    torch.saveSafetensors(path, tensors, {
      format: CHECKPOINT_FORMAT,
      step: String(parts.step),
      state: JSON.stringify(parts.state),
      ...(parts.imageShape ? { imageShape: JSON.stringify(parts.imageShape) } : {}),
    });
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
  const bad = () => new Error(`${path} is not a valid safetensors file: the header cannot be read (truncated or not safetensors)`);
  const { fd, size } = openRegularFile(path, Number.MAX_SAFE_INTEGER, "the checkpoint");
  try {
    if (size < 8) throw bad();
    const n = Number(readExactly(fd, path, 8, 0).readBigUInt64LE(0));
    if (n < 2 || n > 100_000_000 || 8 + n > size) throw bad();
    let meta: Record<string, unknown> | undefined;
    try {
      meta = (JSON.parse(readExactly(fd, path, n, 8).toString("utf8")) as { __metadata__?: Record<string, unknown> }).__metadata__;
    } catch {
      throw bad();
    }
    return checkMeta(path, meta).step;
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
  let meta: CheckpointMeta;
  try {
    meta = checkMeta(path, metadata);
  } catch (e) {
    torch.dispose(tensors);
    throw e;
  }
  const out: LoadedCheckpoint = {
    step: meta.step,
    model: {},
    optimizer: {},
    state: meta.state ?? {},
    ...(meta.imageShape ? { imageShape: meta.imageShape } : {}),
  };
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith("model.")) out.model[k.slice(6)] = t;
    else if (k.startsWith("optim.")) out.optimizer[k.slice(6)] = t;
    else if (k === "rng.cpu") out.rng = t;
    else t.dispose();
  }
  return out;
}
