// Input complexity's codecs: sharp's PNG against an independent encoder's sizes (Pillow, the fixture of
// scripts/make-png-size-fixture.py), lossless round trips, and clear errors for shapes they cannot hold.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { COMPRESSORS, complexityBitsPerDim, compressedBytes, encode } from "../../lib/ood/complexity.js";
import { loadDataset } from "../../lib/data/load.js";
import type { ImageDataset } from "../../lib/data/index.js";
import { REPO_ROOT, SHARED_DATASETS } from "../paths.js";

interface Fixture {
  made_by: string;
  n: number;
  sets: Record<"fashion-mnist" | "mnist", { fileBytes: number[] }>;
}
const fixture = JSON.parse(readFileSync(join(REPO_ROOT, "test", "ood", "fixtures", "png-sizes.json"), "utf8")) as Fixture;
const load = (name: string) => loadDataset(name, `test[:${fixture.n}]`, { env: { TORCHTS_OOD_DATA: SHARED_DATASETS } });
const image = (d: ImageDataset, i: number) => d.images.subarray(i * 784, (i + 1) * 784);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/** [type, data length] of each PNG chunk. */
function chunks(png: Buffer): [string, number][] {
  const out: [string, number][] = [];
  for (let o = 8; o < png.length; o += 12 + png.readUInt32BE(o)) out.push([png.toString("latin1", o + 4, o + 8), png.readUInt32BE(o)]);
  return out;
}

function noise(n: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  return Uint8Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s >>> 24));
}

describe("input complexity codecs", () => {
  // Measured (first 100 test images each): sharp's PNGs are byte-for-byte as long as Pillow's on all 200
  // images (both: libpng's per-row filter heuristic, deflate level 9). The bounds leave room for another
  // zlib build (zlib-ng under sharp, the system zlib under Pillow): mean within 2%, every image within 5%.
  it.each(["fashion-mnist", "mnist"] as const)("writes PNGs as small as Pillow's at optimize=True, level 9 (%s)", async (name) => {
    const d = await load(name);
    const ref = fixture.sets[name];
    const pngs = await Promise.all(Array.from({ length: fixture.n }, (_, i) => encode(image(d, i), [1, 28, 28], "png")));
    const ours = pngs.map((p) => p.length);
    expect(Math.abs(mean(ours) / mean(ref.fileBytes) - 1)).toBeLessThan(0.02);
    ours.forEach((b, i) => expect(Math.abs(b / ref.fileBytes[i]! - 1), `image ${i}: ${b} vs ${ref.fileBytes[i]} bytes`).toBeLessThan(0.05));
    // No metadata counted (libvips's pHYs chunk is dropped): the pixels' chunks only, as Pillow writes them.
    for (const p of pngs) expect([...new Set(chunks(p).map(([t]) => t))]).toEqual(["IHDR", "IDAT", "IEND"]);
  });

  // Measured on these 100 images: WebP 433 vs PNG 490 bytes on FashionMNIST, 198 vs 267 on MNIST (12% and 26% smaller).
  it.each(["fashion-mnist", "mnist"] as const)("WebP lossless is smaller than PNG on average (%s)", async (name) => {
    const d = await load(name);
    const sizes = async (c: "png" | "webp") => Promise.all(Array.from({ length: fixture.n }, (_, i) => compressedBytes(image(d, i), [1, 28, 28], c)));
    const [png, webp] = [await sizes("png"), await sizes("webp")];
    expect(mean(webp)).toBeLessThan(0.95 * mean(png));
  });

  it("writes a gray image as an 8-bit gray PNG (colour type 0) and RGB as RGB (2), both decoding to the same pixels", async () => {
    const gray = noise(5 * 7, 1);
    const png = await encode(gray, [1, 5, 7], "png");
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([7, 5, 8, 0]);
    expect(chunks(png).map(([t]) => t)).toContain("IDAT");
    const back = await sharp(png).toColourspace("b-w").raw().toBuffer({ resolveWithObject: true });
    expect(back.info.channels).toBe(1);
    expect(new Uint8Array(back.data)).toEqual(gray);

    // Channel-major (C x H x W) in, interleaved RGB in the file.
    const rgb = noise(3 * 4 * 6, 2);
    const hwc = Uint8Array.from({ length: rgb.length }, (_, j) => rgb[(j % 3) * 24 + Math.floor(j / 3)]!);
    const png3 = await encode(rgb, [3, 4, 6], "png");
    expect([png3[24], png3[25]]).toEqual([8, 2]);
    expect(new Uint8Array(await sharp(png3).raw().toBuffer())).toEqual(hwc);
    // WebP is lossless too.
    expect(
      new Uint8Array(
        await sharp(await encode(rgb, [3, 4, 6], "webp"))
          .raw()
          .toBuffer(),
      ),
    ).toEqual(hwc);
    const webpGray = await sharp(await encode(gray, [1, 5, 7], "webp"))
      .toColourspace("b-w")
      .raw()
      .toBuffer();
    expect(new Uint8Array(webpGray)).toEqual(gray);
  });

  it.each(COMPRESSORS)("compresses a constant image far smaller than noise (%s)", async (c) => {
    const constant = await compressedBytes(new Uint8Array(784).fill(128), [1, 28, 28], c);
    const random = await compressedBytes(noise(784, 3), [1, 28, 28], c);
    expect(random).toBeGreaterThan(700); // noise does not compress: about its 784 bytes
    expect(constant).toBeLessThan(random / 5);
  });

  it("gives bits per dimension of every image in order, encoding several at once", async () => {
    const n = 20;
    const images = new Uint8Array(n * 64);
    for (let i = 0; i < n; i++) images.set(i % 2 ? noise(64, i) : new Uint8Array(64).fill(i), i * 64);
    const data: ImageDataset = { name: "x", split: "test", images, n, channels: 1, height: 8, width: 8 };
    for (const c of COMPRESSORS) {
      const bits = await complexityBitsPerDim(data, c, 12);
      expect(bits.length).toBe(12);
      for (let i = 0; i < 12; i++) expect(bits[i]).toBe((8 * (await compressedBytes(images.subarray(i * 64, (i + 1) * 64), [1, 8, 8], c))) / 64);
    }
    expect((await complexityBitsPerDim(data, "png", 100)).length).toBe(n);
    expect((await complexityBitsPerDim(data, "png", 0)).length).toBe(0);
  });

  it.each([
    [new Uint8Array(10), [1, 3, 3], "png", /10 bytes for an image of shape \[1,3,3\] \(9 expected\)/],
    [new Uint8Array(8), [2, 2, 2], "png", /png holds 1 \(gray\) or 3 \(RGB\) channels, not 2; use brotli/],
    [new Uint8Array(16), [4, 2, 2], "webp", /webp holds 1 \(gray\) or 3 \(RGB\) channels, not 4/],
    [new Uint8Array(0), [1, 0, 3], "png", /shape \[1,0,3\] is not \[channels, height, width\] with positive integers/],
    [new Uint8Array(3), [1, 1.5, 2], "brotli", /shape \[1,1.5,2\] is not/],
  ] as const)("rejects pixels that do not fit the shape or codec: %#", async (px, shape, c, message) => {
    await expect(compressedBytes(px, shape as unknown as [number, number, number], c)).rejects.toThrow(message);
  });

  it("takes any channel count for Brotli (raw bytes)", async () => {
    expect(await compressedBytes(new Uint8Array(8), [2, 2, 2], "brotli")).toBeGreaterThan(0);
  });
});
