/**
 * Input complexity: the length of an image compressed losslessly by a real compressor, in bits per
 * dimension. Serra et al., "Input Complexity and Out-of-Distribution Detection with Likelihood-based
 * Generative Models", ICLR 2020, define the OOD score S(x) = -log2 p(x) - L(x), with L(x) the compressed
 * length in bits; per dimension, S(x)/D = bits/dim - L(x)/D. Simple inputs (MNIST's black background,
 * constant images) get high likelihood because they are simple; subtracting their complexity corrects that.
 *
 * Compressors: PNG at maximum compression (pngjs, a maintained encoder: every filter tried per row,
 * deflate level 9), the paper's choice; and Brotli at quality 11 (Node's zlib), a second, stronger
 * general-purpose one. The whole file counts, headers included: a constant per image size, so it moves
 * no ranking.
 */
import { brotliCompressSync, constants as zlibConstants } from "node:zlib";
import { PNG } from "pngjs";
import type { ImageDataset } from "../data/index.js";

export const COMPRESSORS = ["png", "brotli"] as const;
export type Compressor = (typeof COMPRESSORS)[number];

/** The compressed size in bytes of one 8-bit image (C x H x W bytes, channel-major as the data sets hold them). */
export function compressedBytes(pixels: Uint8Array, shape: readonly [number, number, number], compressor: Compressor): number {
  const [c, h, w] = shape;
  if (pixels.length !== c * h * w) throw new RangeError(`compressedBytes: ${pixels.length} bytes for an image of shape [${shape}]`);
  if (compressor === "brotli") {
    return brotliCompressSync(pixels, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: pixels.length } }).length;
  }
  if (c !== 1 && c !== 3) throw new RangeError(`PNG holds 1 (gray) or 3 (RGB) channels, not ${c}`);
  // PNG stores pixels interleaved (RGBRGB...): reorder from channel-major.
  let data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length);
  if (c === 3) {
    data = Buffer.alloc(pixels.length);
    for (let i = 0; i < h * w; i++) for (let k = 0; k < 3; k++) data[i * 3 + k] = pixels[k * h * w + i]!;
  }
  const colorType = c === 1 ? 0 : 2;
  const png = new PNG({ width: w, height: h, colorType, inputColorType: colorType, inputHasAlpha: false });
  png.data = data;
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false, deflateLevel: 9, filterType: -1 }).length;
}

/** L(x)/D for the first n images of a data set: compressed bits per dimension. */
export function complexityBitsPerDim(data: ImageDataset, compressor: Compressor, n = data.n): Float64Array {
  const shape = [data.channels, data.height, data.width] as const;
  const d = data.channels * data.height * data.width;
  const out = new Float64Array(Math.min(n, data.n));
  for (let i = 0; i < out.length; i++) out[i] = (8 * compressedBytes(data.images.subarray(i * d, (i + 1) * d), shape, compressor)) / d;
  return out;
}
