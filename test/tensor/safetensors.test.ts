// Checkpoints as safetensors: round trip, Python's reader agrees, and broken files are clear errors.
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import * as torch from "../../lib/tensor/index.js";

const dir = mkdtempSync(join(tmpdir(), "torchts-st-"));

describe("safetensors", () => {
  it("round-trips every dtype, shape and metadata", () => {
    const tensors = {
      w: torch.randn([3, 4]),
      d: torch.tensor([1.5, -2], { dtype: "float64" }),
      i: torch.arange(5),
      b: torch.tensor([true, false, true]),
      u: torch.tensor(new Uint8Array([0, 255])),
      s: torch.scalar(7),
      e: torch.zeros([0, 3]),
    };
    const path = join(dir, "a.safetensors");
    torch.saveSafetensors(path, tensors, { step: "12" });
    const { tensors: back, metadata } = torch.loadSafetensors(path);
    expect(metadata).toEqual({ step: "12" });
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [k, t] of Object.entries(tensors)) {
      expect(back[k]!.dtype).toBe(t.dtype);
      expect(back[k]!.shape).toEqual(t.shape);
      expect(back[k]!.toFlatArray()).toEqual(t.toFlatArray());
    }
  });

  it("is read by Python's safetensors with the same values", () => {
    // The Python that scripts/setup.sh set up ($PYTHON, else python3). Its stderr may hold warnings
    // (PyTorch's own NumPy notice): those are not failures, so only the exit status and values count.
    const python = process.env.PYTHON || "python3";
    const path = join(dir, "py.safetensors");
    torch.saveSafetensors(path, { x: torch.arange(6, undefined, 1, { dtype: "float32" }).view(2, 3), y: torch.tensor([3], { dtype: "int64" }) });
    const r = spawnSync(
      python,
      [
        "-c",
        `from safetensors.torch import load_file, save_file; import torch; t = load_file(${JSON.stringify(path)}); ` +
          `print(t['x'].shape, t['x'].sum().item(), t['y'].dtype); save_file({'z': torch.full((2,), 2.5)}, ${JSON.stringify(join(dir, "from-py.safetensors"))})`,
      ],
      { encoding: "utf8" },
    );
    expect(r.status, `${python} failed (scripts/setup.sh installs torch, numpy and safetensors):\n${r.error ?? r.stderr}`).toBe(0);
    expect(r.stdout.trim()).toBe("torch.Size([2, 3]) 15.0 torch.int64");
    expect(torch.loadSafetensors(join(dir, "from-py.safetensors")).tensors.z!.tolist()).toEqual([2.5, 2.5]);
  });

  it("says what is wrong with truncated and foreign files", () => {
    const good = join(dir, "g.safetensors");
    torch.saveSafetensors(good, { w: torch.ones([100]) });
    const bytes = readFileSync(good);
    const trunc = join(dir, "t.safetensors");
    writeFileSync(trunc, bytes.subarray(0, bytes.length - 10));
    expect(() => torch.loadSafetensors(trunc)).toThrow(/tensor 'w' has data_offsets .* \(truncated\?\)/);
    const foreign = join(dir, "f.safetensors");
    writeFileSync(foreign, "PK\u0003\u0004 this is a zip file, not safetensors");
    expect(() => torch.loadSafetensors(foreign)).toThrow(/not a valid safetensors file: header length/);
    writeFileSync(foreign, Buffer.from([1, 2, 3]));
    expect(() => torch.loadSafetensors(foreign)).toThrow(/only 3 bytes/);
    expect(() => torch.loadSafetensors(join(dir, "missing.safetensors"))).toThrow(/cannot read checkpoint/);
  });

  it("keeps a tensor named __proto__, and refuses one named __metadata__ (the format's reserved name)", () => {
    const path = join(dir, "names.safetensors");
    const tensors: Record<string, torch.Tensor> = {};
    Object.defineProperty(tensors, "__proto__", { value: torch.ones([2]), enumerable: true });
    tensors.w = torch.zeros([1]);
    torch.saveSafetensors(path, tensors, { note: "kept" });
    const back = torch.loadSafetensors(path);
    expect(Object.keys(back.tensors).sort()).toEqual(["__proto__", "w"]);
    expect(Object.getOwnPropertyDescriptor(back.tensors, "__proto__")!.value.tolist()).toEqual([1, 1]);
    expect(Object.getPrototypeOf(back.tensors)).toBe(Object.prototype);
    expect(back.metadata).toEqual({ note: "kept" });
    expect(() => torch.saveSafetensors(path, { __metadata__: torch.ones([1]) }, { note: "kept" })).toThrow(
      /"__metadata__" is reserved by the format for the metadata; rename that tensor/,
    );
    expect(torch.loadSafetensors(path).metadata).toEqual({ note: "kept" });
  });

  it("checks each header entry and the metadata: a bad dtype, shape or metadata value is named", () => {
    const write = (header: object) => {
      const json = Buffer.from(JSON.stringify(header));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      const p = join(dir, "hdr.safetensors");
      writeFileSync(p, Buffer.concat([len, json, Buffer.alloc(16)]));
      return p;
    };
    expect(() => torch.loadSafetensors(write({ w: { dtype: "F33", shape: [1], data_offsets: [0, 4] } }))).toThrow(
      /tensor 'w': "dtype" must be one of F32, .*got "F33"/,
    );
    expect(() => torch.loadSafetensors(write({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }))).toThrow(/tensor 'w': "shape\[0\]" .*got -1/);
    expect(() => torch.loadSafetensors(write({ __metadata__: { step: 3 } }))).toThrow(/its __metadata__ "step" .*got 3/);
  });
});
