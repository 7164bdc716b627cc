/**
 * Input complexity: the length of an image compressed losslessly by a real compressor, in bits per
 * dimension. Serra et al., "Input Complexity and Out-of-Distribution Detection with Likelihood-based
 * Generative Models", ICLR 2020, define the OOD score S(x) = -log2 p(x) - L(x), with L(x) the compressed
 * length in bits; per dimension, S(x)/D = bits/dim - L(x)/D. Simple inputs (MNIST's black background,
 * constant images) get high likelihood because they are simple; subtracting their complexity corrects that.
 *
 * Compressors (Serra et al.: the stronger the compressor, the better the score):
 * - png: libpng 1.6 through sharp/libvips, deflate level 9 (zlib-ng), adaptive filtering (libpng's
 *   per-row heuristic over its five filters), no palette; gray images as 8-bit gray (colour type 0), RGB as
 *   RGB. Only the critical chunks count (libvips's pHYs is metadata). Exactly as long as Pillow's PNGs
 *   (optimize=True, compress_level=9) on the fixture's 200 images: test/ood/fixtures/png-sizes.json.
 * - webp: lossless WebP (libwebp 1.6 through sharp) at its strongest setting (effort 6, quality 100).
 * - brotli: Brotli at quality 11 (Node's zlib) over the raw channel-major bytes.
 * Mean bytes per image over the first 1000 test images, FashionMNIST / MNIST (scripts/bench-complexity.mjs):
 * png 509.0 / 267.8, webp 446.4 / 199.1, brotli 448.9 / 194.2; pngjs, used here before, 521.1 / 311.8.
 * Headers count: a constant per image size, so they move no ranking.
 */
import { brotliCompressSync, constants as zlibConstants } from "node:zlib";
import sharp from "sharp";
import type { ImageDataset } from "../data/index.js";

export const COMPRESSORS = ["png", "webp", "brotli"] as const;
export type Compressor = (typeof COMPRESSORS)[number];

/** Images encoded at once: sharp encodes on libuv's thread pool, so a few in flight keep every core busy. */
const IN_FLIGHT = 8;

function checkShape(pixels: Uint8Array, shape: readonly [number, number, number], compressor: Compressor): void {
  const [c, h, w] = shape;
  if (![c, h, w].every((v) => Number.isInteger(v) && v > 0))
    throw new RangeError(`compressedBytes: shape [${shape}] is not [channels, height, width] with positive integers`);
  if (pixels.length !== c * h * w)
    throw new RangeError(`compressedBytes: ${pixels.length} bytes for an image of shape [${shape}] (${c * h * w} expected): give C x H x W bytes`);
  if (compressor !== "brotli" && c !== 1 && c !== 3)
    throw new RangeError(`compressedBytes: ${compressor} holds 1 (gray) or 3 (RGB) channels, not ${c}; use brotli for other channel counts`);
}

/** Channel-major C x H x W bytes as the interleaved (HWC) raw input sharp reads. */
function interleaved(pixels: Uint8Array, c: number, hw: number): Buffer {
  if (c === 1) return Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length);
  const out = Buffer.allocUnsafe(pixels.length);
  for (let k = 0; k < c; k++) {
    const plane = pixels.subarray(k * hw, (k + 1) * hw);
    for (let i = 0; i < hw; i++) out[i * c + k] = plane[i]!;
  }
  return out;
}

/**
 * The PNG without its ancillary chunks (lower-case first letter: metadata, not pixels). libvips always
 * writes pHYs (21 bytes) that libpng-based writers such as Pillow or OpenCV leave out; what is left is
 * still a valid PNG: signature, IHDR, IDAT..., IEND.
 */
function criticalChunks(png: Buffer): Buffer {
  const keep: Buffer[] = [png.subarray(0, 8)];
  for (let o = 8; o + 8 <= png.length; o += 12 + png.readUInt32BE(o)) {
    if (png[o + 4]! < 0x61) keep.push(png.subarray(o, o + 12 + png.readUInt32BE(o)));
  }
  return Buffer.concat(keep);
}

/** The encoded file: a gray PNG/WebP for 1 channel, RGB for 3; Brotli over the raw channel-major bytes. */
export async function encode(pixels: Uint8Array, shape: readonly [number, number, number], compressor: Compressor): Promise<Buffer> {
  checkShape(pixels, shape, compressor);
  const [c, h, w] = shape;
  if (compressor === "brotli")
    return brotliCompressSync(pixels, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: pixels.length } });
  // sharp writes sRGB unless told: b-w keeps one band (PNG colour type 0, 8 bits), a third of the bytes.
  const image = sharp(interleaved(pixels, c, h * w), { raw: { width: w, height: h, channels: c as 1 | 3 } }).toColourspace(c === 1 ? "b-w" : "srgb");
  if (compressor === "png") return criticalChunks(await image.png({ compressionLevel: 9, adaptiveFiltering: true, palette: false }).toBuffer());
  return image.webp({ lossless: true, effort: 6, quality: 100, exact: true }).toBuffer();
}

/** The compressed size in bytes of one 8-bit image (C x H x W bytes, channel-major as the data sets hold them). */
export async function compressedBytes(pixels: Uint8Array, shape: readonly [number, number, number], compressor: Compressor): Promise<number> {
  return (await encode(pixels, shape, compressor)).length;
}

/** L(x)/D for the first n images of a data set: compressed bits per dimension, IN_FLIGHT images encoded at once. */
export async function complexityBitsPerDim(data: ImageDataset, compressor: Compressor, n = data.n): Promise<Float64Array> {
  const shape = [data.channels, data.height, data.width] as const;
  const d = data.channels * data.height * data.width;
  const out = new Float64Array(Math.max(0, Math.min(n, data.n)));
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < out.length; i = next++) out[i] = (8 * (await compressedBytes(data.images.subarray(i * d, (i + 1) * d), shape, compressor))) / d;
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, out.length) }, worker));
  return out;
}
