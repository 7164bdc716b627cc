/**
 * Synthetic inputs of the paper's analyses: constant images (e.g. all 0, 128 or 255, which
 * likelihood models can score very highly), uniform noise images, and two moons replicated to D
 * dimensions (a toy density where dimension and structure can be varied independently).
 */
import { Rng } from "./rng.js";
import type { ImageDataset } from "./types.js";

export interface ImageShape {
  n: number;
  channels: number;
  height: number;
  width: number;
}

function checkShape(s: ImageShape): void {
  for (const k of ["n", "channels", "height", "width"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) throw new Error(`synthetic images: ${k} must be a positive integer, got ${s[k]}`);
  }
}

/** n images whose every pixel is `value` (0..255). */
export function constantImages(opts: ImageShape & { value: number }): ImageDataset {
  checkShape(opts);
  const { n, channels, height, width, value } = opts;
  if (!Number.isInteger(value) || value < 0 || value > 255) throw new Error(`constantImages: value must be an integer 0..255, got ${value}`);
  return { name: `constant-${value}`, split: "synthetic", images: new Uint8Array(n * channels * height * width).fill(value), n, channels, height, width };
}

/** n images of i.i.d. uniform pixels 0..255, reproducible from `seed`. */
export function uniformImages(opts: ImageShape & { seed: number }): ImageDataset {
  checkShape(opts);
  const { n, channels, height, width, seed } = opts;
  const rng = Rng.seeded(seed);
  const images = new Uint8Array(n * channels * height * width);
  for (let i = 0; i < images.length; i++) images[i] = rng.uint32() >>> 24;
  return { name: "uniform", split: "synthetic", images, n, channels, height, width };
}

export interface TwoMoonsOptions {
  n: number;
  /** Output dimension D >= 2: the 2-D point (a, b) becomes (a, b, a, b, ...) cut to D values. */
  dims?: number;
  /** Standard deviation of the Gaussian noise added to each 2-D point (default 0.1). */
  noise?: number;
  seed?: number;
}

/**
 * Two interleaved half circles as in sklearn's make_moons: moon 0 is (cos t, sin t), moon 1 is
 * (1 - cos t, 0.5 - sin t), t ~ U[0, pi], plus N(0, noise^2) per coordinate; ceil(n/2) points in
 * moon 0. Points are in random order. Returns x (n*dims, row-major) and each point's moon.
 */
export function twoMoonsWithLabels(opts: TwoMoonsOptions): { x: Float32Array; labels: Uint8Array; n: number; dims: number } {
  const { n, dims = 2, noise = 0.1, seed = 0 } = opts;
  if (!Number.isInteger(n) || n < 1) throw new Error(`twoMoons: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(dims) || dims < 2) throw new Error(`twoMoons: dims must be an integer >= 2, got ${dims}`);
  if (!(noise >= 0)) throw new Error(`twoMoons: noise must be >= 0, got ${noise}`);
  const rng = Rng.seeded(seed);
  const moon = new Uint8Array(n);
  for (let i = Math.ceil(n / 2); i < n; i++) moon[i] = 1;
  rng.shuffle(moon);
  const x = new Float32Array(n * dims);
  for (let i = 0; i < n; i++) {
    const t = Math.PI * rng.float();
    let a = moon[i] === 0 ? Math.cos(t) : 1 - Math.cos(t);
    let b = moon[i] === 0 ? Math.sin(t) : 0.5 - Math.sin(t);
    a += noise * rng.normal();
    b += noise * rng.normal();
    for (let d = 0; d < dims; d++) x[i * dims + d] = d % 2 === 0 ? a : b;
  }
  return { x, labels: moon, n, dims };
}

/** Two moons replicated to D dimensions: Float32Array of n*dims values (see twoMoonsWithLabels). */
export function twoMoons(opts: TwoMoonsOptions): Float32Array {
  return twoMoonsWithLabels(opts).x;
}
