// Checkpoints as safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__: {string: string}}, then the raw
// little-endian bytes. Python's `safetensors.torch.load_file` reads what this writes, and vice versa.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import { openRegularFile, readExactly } from "../files.js";
import { describeIssues, z } from "../schema.js";
import { native } from "./native.js";
import { Tensor } from "./tensor.js";
import { type DType, dtypeCode, itemSize } from "./dtype.js";

const TO_ST: Record<DType, string> = {
  float32: "F32",
  float64: "F64",
  float16: "F16",
  bfloat16: "BF16",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};
const FROM_ST = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType])) as Record<string, DType>;

export type Metadata = Record<string, string>;

/** Writes tensors to `path` atomically (a temporary file renamed into place). */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Metadata = {}): void {
  const names = Object.keys(tensors).sort();
  // The format reserves __metadata__ for the metadata: a tensor of that name would replace it.
  if (names.includes("__metadata__"))
    throw new Error(`saveSafetensors(${path}): "__metadata__" is reserved by the format for the metadata; rename that tensor`);
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== "string") throw new Error(`saveSafetensors(${path}): metadata "${k}" must be a string (the format stores strings only), got ${typeof v}`);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const buffers: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const bytes = new Uint8Array(native.toBuffer(t.handle));
    setOwn(header, name, { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] });
    buffers.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // the data starts 8-byte aligned
  const headerBytes = Buffer.from(json, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, len);
    writeSync(fd, headerBytes);
    for (const b of buffers) writeSync(fd, b);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export interface LoadedSafetensors {
  tensors: Record<string, Tensor>;
  metadata: Metadata;
}

/** The largest JSON header read (safetensors' own limit is 100 MB). */
const MAX_HEADER = 100_000_000;

const entrySchema = z.object({
  dtype: z.enum(Object.keys(FROM_ST) as [string, ...string[]], { error: `must be one of ${Object.keys(FROM_ST).join(", ")}` }),
  shape: z.array(z.number().int().min(0)),
  data_offsets: z.tuple([z.number().int().min(0), z.number().int().min(0)]),
});
const metadataSchema = z.record(z.string(), z.string(), { error: "must be an object of string values" });

/** Sets an own property, so that a tensor named `__proto__` is a tensor, not the object's prototype. */
const setOwn = <T>(o: Record<string, T>, k: string, v: T) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

/**
 * Reads a safetensors file, or `bytes` already read from it (`path` then only names it in messages); a
 * truncated or foreign file is an Error that says what is wrong with it. Only a regular file is read (not
 * a FIFO or a link to /dev/zero), and only the bytes its header declares: the header's length, then each
 * tensor's bytes at its offsets.
 */
export function loadSafetensors(path: string, bytes?: Uint8Array): LoadedSafetensors {
  let opened: { fd: number; size: number } | undefined;
  if (!bytes)
    try {
      opened = openRegularFile(path, Number.MAX_SAFE_INTEGER, "the checkpoint");
    } catch (e) {
      throw new Error(`cannot read checkpoint ${(e as Error).message}`);
    }
  const fd = opened?.fd ?? -1;
  const size = bytes ? bytes.byteLength : opened!.size;
  // A copy of its own either way: the file's byte offsets need not be aligned for the element type.
  const readAt = (length: number, position: number): Buffer =>
    bytes ? Buffer.from(bytes.subarray(position, position + length)) : readExactly(fd, path, length, position);
  const bad = (what: string) => new Error(`${path} is not a valid safetensors file: ${what}`);
  const tensors: Record<string, Tensor> = {};
  try {
    if (size < 8) throw bad(`only ${size} bytes (truncated?)`);
    const n = Number(readAt(8, 0).readBigUInt64LE(0));
    if (n < 2 || 8 + n > size || n > MAX_HEADER) throw bad(`header length ${n} does not fit the file's ${size} bytes (truncated or not safetensors)`);
    let header: unknown;
    try {
      header = JSON.parse(readAt(n, 8).toString("utf8"));
    } catch {
      throw bad("the header is not JSON");
    }
    if (header === null || typeof header !== "object" || Array.isArray(header)) throw bad("the header is not a JSON object");
    const dataStart = 8 + n;
    const dataLen = size - dataStart;
    const entries: [string, z.infer<typeof entrySchema>][] = [];
    let metadata: Metadata = {};
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") {
        const m = metadataSchema.safeParse(raw);
        if (!m.success) throw bad(`its __metadata__ ${describeIssues(m.error, raw).join("; ")}`);
        metadata = m.data;
        continue;
      }
      const r = entrySchema.safeParse(raw);
      if (!r.success) throw bad(`tensor '${name}': ${describeIssues(r.error, raw).join("; ")}`);
      entries.push([name, r.data]);
    }
    for (const [name, e] of entries) {
      const dtype = FROM_ST[e.dtype]!;
      const [begin, end] = e.data_offsets;
      const numel = e.shape.reduce((a, b) => a * b, 1);
      if (end > dataLen || end - begin !== numel * itemSize(dtype))
        throw bad(`tensor '${name}' has data_offsets [${begin}, ${end}] that do not match its shape or the file (truncated?)`);
      const data = readAt(end - begin, dataStart + begin);
      let t = new Tensor(native.fromBuffer(data, e.shape, dtypeCode(dtype === "bool" ? "uint8" : dtype)));
      if (dtype === "bool") {
        const b = t.to("bool");
        t.dispose();
        t = b;
      }
      setOwn(tensors, name, t);
    }
    return { tensors, metadata };
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  } finally {
    if (opened) closeSync(fd);
  }
}
