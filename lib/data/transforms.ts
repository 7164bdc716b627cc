/**
 * Pixel transforms, pure functions over typed arrays (an `out` array may be passed to reuse memory;
 * it may be the input itself for the Float32 -> Float32 ones). Image arrays are NCHW.
 *
 * Scales: raw pixels are integers 0..255. Dequantization maps pixel k to (k + u)/256 with u ~ U[0,1),
 * i.e. a uniform sample of the k-th of 256 bins of [0,1): continuous densities on [0,1)^D are then
 * comparable across models, and bits/dim = -(log p(x) - D log 256)/(D log 2) on the raw scale.
 */
import type { Rng } from "./rng.js";
import type { ImageDataset } from "./types.js";

type Pixels = Uint8Array | Float32Array;

function output(len: number, out: Float32Array | undefined): Float32Array {
  if (out && out.length !== len) throw new Error(`out has length ${out.length}, expected ${len}`);
  return out ?? new Float32Array(len);
}

/** (x + u) / 256 with u ~ U[0,1) from `rng`: values in [0, 1] (1 only by float32 rounding of 255 + u near 256). */
export function dequantize(x: Uint8Array, rng: Rng, out?: Float32Array): Float32Array {
  const o = output(x.length, out);
  for (let i = 0; i < x.length; i++) o[i] = (x[i] + rng.float()) / 256;
  return o;
}

/** (x + 0.5) / 256: the centre of each pixel's bin, the noise-free counterpart of dequantize. */
export function binCenters(x: Uint8Array, out?: Float32Array): Float32Array {
  const o = output(x.length, out);
  for (let i = 0; i < x.length; i++) o[i] = (x[i] + 0.5) / 256;
  return o;
}

/** x / 255: raw pixels to [0, 1] (0 -> 0, 255 -> 1). */
export function scaleToUnit(x: Pixels, out?: Float32Array): Float32Array {
  const o = output(x.length, out);
  for (let i = 0; i < x.length; i++) o[i] = x[i] / 255;
  return o;
}

/** x / 255 - 0.5: raw pixels to [-0.5, 0.5] (the Glow convention). */
export function scaleToCentered(x: Pixels, out?: Float32Array): Float32Array {
  const o = output(x.length, out);
  for (let i = 0; i < x.length; i++) o[i] = x[i] / 255 - 0.5;
  return o;
}

/** x - 0.5: values in [0, 1] (e.g. dequantized) to [-0.5, 0.5]. */
export function centerUnit(x: Float32Array, out?: Float32Array): Float32Array {
  const o = output(x.length, out);
  for (let i = 0; i < x.length; i++) o[i] = x[i] - 0.5;
  return o;
}

/**
 * Graying (paper, figure 5b): x' = 128 + factor * (x - 128) on the 0..255 scale. factor 1 leaves the
 * images unchanged, 0 makes them uniformly gray (128); in between shrinks contrast towards gray.
 */
export function gray(x: Pixels, factor: number, out?: Float32Array): Float32Array {
  if (!(factor >= 0 && factor <= 1)) throw new Error(`gray: factor must be in [0, 1], got ${factor}`);
  const o = output(x.length, out);
  for (let i = 0; i < x.length; i++) o[i] = 128 + factor * (x[i] - 128);
  return o;
}

/**
 * The perturbation of Ren et al.'s background models (Likelihood Ratios for Out-of-Distribution
 * Detection, 2019): each pixel, with probability `rate`, is replaced by a level drawn uniformly from
 * 0..255 (which may be its own, as in the paper's code). Corrupting local detail leaves the background
 * statistics, so a model trained on such images learns those and not the semantics. Draws come from
 * `rng`: the same generator state gives the same mutations. `out` may be `x` itself.
 */
export function mutatePixels(x: Uint8Array, rate: number, rng: Rng, out?: Uint8Array): Uint8Array {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`mutatePixels: rate must be in [0, 1], got ${rate}`);
  if (out && out.length !== x.length) throw new Error(`out has length ${out.length}, expected ${x.length}`);
  const o = out ?? new Uint8Array(x.length);
  // 256 divides 2^32, so the low byte of a draw is an unbiased level.
  for (let i = 0; i < x.length; i++) o[i] = rng.float() < rate ? rng.uint32() & 255 : x[i];
  return o;
}

/** Copies 1-channel NCHW images into `channels` identical channels (e.g. MNIST as RGB for a CIFAR model). */
export function tileChannels(x: Uint8Array, n: number, height: number, width: number, channels = 3): Uint8Array {
  const plane = height * width;
  if (x.length !== n * plane) throw new Error(`tileChannels: expected ${n}x1x${height}x${width} = ${n * plane} values, got ${x.length}`);
  const out = new Uint8Array(n * channels * plane);
  for (let i = 0; i < n; i++) {
    const src = x.subarray(i * plane, (i + 1) * plane);
    for (let c = 0; c < channels; c++) out.set(src, (i * channels + c) * plane);
  }
  return out;
}

/** Pads NCHW images by `pad` pixels of `value` on every side (28x28 -> 32x32 with pad 2). */
export function padImages(x: Uint8Array, n: number, channels: number, height: number, width: number, pad = 2, value = 0): Uint8Array {
  if (x.length !== n * channels * height * width) throw new Error(`padImages: expected ${n}x${channels}x${height}x${width} values, got ${x.length}`);
  const H = height + 2 * pad;
  const W = width + 2 * pad;
  const out = new Uint8Array(n * channels * H * W).fill(value);
  for (let p = 0; p < n * channels; p++) {
    for (let h = 0; h < height; h++) {
      const src = (p * height + h) * width;
      out.set(x.subarray(src, src + width), (p * H + h + pad) * W + pad);
    }
  }
  return out;
}

/** Data-set versions of the transforms above (new ImageDataset, input untouched). */
export function padDataset(ds: ImageDataset, pad = 2, value = 0): ImageDataset {
  return { ...ds, images: padImages(ds.images, ds.n, ds.channels, ds.height, ds.width, pad, value), height: ds.height + 2 * pad, width: ds.width + 2 * pad };
}

export function tileDatasetChannels(ds: ImageDataset, channels = 3): ImageDataset {
  if (ds.channels !== 1) throw new Error(`tileDatasetChannels: ${ds.name} has ${ds.channels} channels, expected 1`);
  return { ...ds, images: tileChannels(ds.images, ds.n, ds.height, ds.width, channels), channels };
}

/** gray() applied to a data set, rounded back to integer pixels so it can be dequantized like real data. */
export function grayDataset(ds: ImageDataset, factor: number): ImageDataset {
  const g = gray(ds.images, factor);
  const images = new Uint8Array(g.length);
  for (let i = 0; i < g.length; i++) images[i] = Math.round(g[i]);
  return { ...ds, images, name: `${ds.name}-gray${factor}` };
}
