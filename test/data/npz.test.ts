import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseNpy } from "../../lib/data/npy.js";
import { readNpzImages } from "../../lib/data/npz.js";
import { npyBytes, patternBytes, tempDir, toNhwc, writeFile, zipBytes } from "./fixtures/writers.js";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const n = 6;
const nchw = patternBytes(n * 3 * 32 * 32, 21);
const labels = Int32Array.from({ length: n }, (_, i) => 100 * i - 3);
const labelBytes = Buffer.alloc(n * 8);
labels.forEach((l, i) => labelBytes.writeBigInt64LE(BigInt(l), i * 8));

function npz(name: string, entries: { name: string; data: Uint8Array }[], method: 0 | 8, zip64 = false): string {
  return writeFile(join(dir, name), zipBytes(entries, { method, zip64 }));
}

describe(".npy parser", () => {
  it("reads v1 and v2 headers", () => {
    for (const version of [1, 2] as const) {
      const a = parseNpy(npyBytes("|u1", [2, 3], Uint8Array.of(1, 2, 3, 4, 5, 6), { version }), "a.npy");
      expect(a.descr).toBe("|u1");
      expect(a.shape).toEqual([2, 3]);
      expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it("rejects fortran order, wrong magic, and truncated data", () => {
    expect(() => parseNpy(npyBytes("|u1", [2, 2], new Uint8Array(4), { fortran: true }), "f.npy")).toThrow(/Fortran \(column-major\) order/);
    expect(() => parseNpy(patternBytes(100), "m.npy")).toThrow(/m\.npy: not a \.npy array: wrong magic/);
    expect(() => parseNpy(npyBytes("|u1", [2, 3], new Uint8Array(5)), "t.npy")).toThrow(/truncated: shape \(2, 3\) of '\|u1' needs 6 data bytes, there are 5/);
  });
});

describe(".npz image reader", () => {
  it.each([
    ["stored, NHWC", 0, "NHWC", false],
    ["deflated, NHWC", 8, "NHWC", false],
    ["stored, NCHW", 0, "NCHW", false],
    ["deflated, NCHW, zip64 records", 8, "NCHW", true],
  ] as const)("reads %s images and int64 labels", (_n, method, layout, zip64) => {
    const data = layout === "NHWC" ? toNhwc(nchw, n, 3, 32, 32) : nchw;
    const shape = layout === "NHWC" ? [n, 32, 32, 3] : [n, 3, 32, 32];
    const f = npz(
      `a-${method}-${layout}-${zip64}.npz`,
      [
        { name: "images.npy", data: npyBytes("|u1", shape, data) },
        { name: "labels.npy", data: npyBytes("<i8", [n], labelBytes) },
      ],
      method,
      zip64,
    );
    const d = readNpzImages(f);
    expect([d.n, d.channels, d.height, d.width]).toEqual([n, 3, 32, 32]);
    expect(Buffer.from(d.images).equals(Buffer.from(nchw))).toBe(true);
    expect(Array.from(d.labels!)).toEqual(Array.from(labels));
  });

  it("reads the official ImageNet32 batch layout (data: (N, 3072) rows of R, G, B planes) and concatenates batches", () => {
    const half = 3 * 3072;
    const files = [0, 1].map((k) =>
      npz(
        `train_data_batch_${k + 1}.npz`,
        [
          { name: "data.npy", data: npyBytes("|u1", [3, 3072], nchw.subarray(k * half, (k + 1) * half)) },
          { name: "labels.npy", data: npyBytes("<i8", [3], labelBytes.subarray(k * 24, (k + 1) * 24)) },
          { name: "mean.npy", data: npyBytes("<f8", [3072], new Uint8Array(3072 * 8)) },
        ],
        0,
      ),
    );
    const d = readNpzImages(files);
    expect([d.n, d.channels, d.height, d.width]).toEqual([6, 3, 32, 32]);
    expect(Buffer.from(d.images).equals(Buffer.from(nchw))).toBe(true);
    expect(Array.from(d.labels!)).toEqual(Array.from(labels));
  });

  it("reads gray images (N, H, W) and (N, H, W, 1), and finds an unnamed uint8 array", () => {
    const g = patternBytes(4 * 28 * 28, 5);
    const a = readNpzImages(npz("g3.npz", [{ name: "arr_0.npy", data: npyBytes("|u1", [4, 28, 28], g) }], 8));
    expect([a.n, a.channels, a.height, a.width]).toEqual([4, 1, 28, 28]);
    const b = readNpzImages(npz("g4.npz", [{ name: "faces.npy", data: npyBytes("|u1", [4, 28, 28, 1], g) }], 0));
    expect([b.channels, b.height, b.width]).toEqual([1, 28, 28]);
    expect(Buffer.from(b.images).equals(Buffer.from(g))).toBe(true);
    expect(b.labels).toBeUndefined();
  });

  it("asks for the layout when the channel axis is ambiguous, and honours it", () => {
    const data = patternBytes(2 * 3 * 4 * 3, 8);
    const f = npz("amb.npz", [{ name: "images.npy", data: npyBytes("|u1", [2, 3, 4, 3], data) }], 0);
    expect(() => readNpzImages(f)).toThrow(/both axis 1 and axis 3 could be the channel axis.*layout/);
    const d = readNpzImages(f, { layout: "NCHW" });
    expect([d.channels, d.height, d.width]).toEqual([3, 4, 3]);
  });

  it("rejects non-uint8 images, missing keys, and unknown layouts", () => {
    const f32 = npz("f32.npz", [{ name: "images.npy", data: npyBytes("<f4", [1, 2, 2, 3], new Uint8Array(48)) }], 0);
    expect(() => readNpzImages(f32)).toThrow(/images have dtype '<f4', expected uint8/);
    const two = npz(
      "two.npz",
      [
        { name: "a.npy", data: npyBytes("|u1", [1, 2, 2, 3], new Uint8Array(12)) },
        { name: "b.npy", data: npyBytes("|u1", [1, 2, 2, 3], new Uint8Array(12)) },
      ],
      0,
    );
    expect(() => readNpzImages(two)).toThrow(/cannot tell which array holds the images \(arrays: a, b; 2 uint8 arrays/);
    expect(() => readNpzImages(two, { imagesKey: "c" })).toThrow(/no array named "c" \(arrays: a, b\)/);
    const odd = npz("odd.npz", [{ name: "images.npy", data: npyBytes("|u1", [1, 5, 5, 5], new Uint8Array(125)) }], 0);
    expect(() => readNpzImages(odd)).toThrow(/no channel axis of size 1 or 3/);
  });

  it("rejects truncated, corrupted and non-zip files", () => {
    const bytes = zipBytes([{ name: "images.npy", data: npyBytes("|u1", [n, 3, 32, 32], nchw) }], { method: 0 });
    const cut = writeFile(join(dir, "cut.npz"), bytes.subarray(0, bytes.length - 40));
    expect(() => readNpzImages(cut)).toThrow(/cut\.npz: not a zip\/\.npz archive, or truncated: no end-of-central-directory record/);
    const cutData = Buffer.concat([Buffer.from(bytes.subarray(0, 1000)), Buffer.from(bytes.subarray(bytes.length - 80))]);
    const f2 = writeFile(join(dir, "cut2.npz"), cutData);
    expect(() => readNpzImages(f2)).toThrow(/truncated|damaged central directory/);
    const flipped = Buffer.from(bytes);
    flipped[500] ^= 0xff;
    const f3 = writeFile(join(dir, "crc.npz"), flipped);
    expect(() => readNpzImages(f3)).toThrow(/member "images\.npy" fails its CRC-32 check/);
    const f4 = join(dir, "html.npz");
    writeFileSync(f4, "<html><body>404 Not Found</body></html>");
    expect(() => readNpzImages(f4)).toThrow(/no end-of-central-directory record \(starts with .* HTML/);
  });
});
