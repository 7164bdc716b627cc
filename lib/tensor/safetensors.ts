// Checkpoints as safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__: {string: string}}, then the raw
// little-endian bytes. Python's `safetensors.torch.load_file` reads what this writes, and vice versa.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
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
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const buffers: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const bytes = new Uint8Array(native.toBuffer(t.handle));
    header[name] = { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
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

/**
 * Reads a safetensors file, or `bytes` already read from it (`path` then only names it in messages); a
 * truncated or foreign file is an Error that says what is wrong with it.
 */
export function loadSafetensors(path: string, bytes?: Uint8Array): LoadedSafetensors {
  let buf: Buffer;
  try {
    buf = bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  const bad = (what: string) => new Error(`${path} is not a valid safetensors file: ${what}`);
  if (buf.length < 8) throw bad(`only ${buf.length} bytes (truncated?)`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n < 2 || 8 + n > buf.length) throw bad(`header length ${n} does not fit the file's ${buf.length} bytes (truncated or not safetensors)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Metadata>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  } catch {
    throw bad("the header is not JSON");
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw bad("the header is not a JSON object");
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const dtype = FROM_ST[e?.dtype];
      if (!dtype) throw bad(`tensor '${name}' has unsupported dtype '${e?.dtype}'`);
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor '${name}' has a bad shape`);
      const [begin, end] = e.data_offsets ?? [];
      const numel = e.shape.reduce((a, b) => a * b, 1);
      if (!Number.isInteger(begin) || !Number.isInteger(end) || begin! < 0 || end! > dataLen || end! - begin! !== numel * itemSize(dtype))
        throw bad(`tensor '${name}' has data_offsets [${begin}, ${end}] that do not match its shape or the file (truncated?)`);
      // Copy into an aligned buffer: the file's byte offsets need not be aligned for the element type.
      const bytes = new Uint8Array(end! - begin!);
      bytes.set(buf.subarray(dataStart + begin!, dataStart + end!));
      tensors[name] = new Tensor(native.fromBuffer(bytes, e.shape, dtypeCode(dtype === "bool" ? "uint8" : dtype)));
      if (dtype === "bool") {
        const b = tensors[name]!.to("bool");
        tensors[name]!.dispose();
        tensors[name] = b;
      }
    }
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  }
  return { tensors, metadata: (header.__metadata__ as Metadata) ?? {} };
}
