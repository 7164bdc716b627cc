/**
 * The data sets an OOD comparison names: a catalog split ("mnist:test", "mnist:test[5000:]"), or one of the
 * paper's synthetic probes made to the in-distribution images' shape:
 *   constant      images of one value each, the values spread over 0..255 (seeded)
 *   uniform       uniform noise over 0..255 per pixel (seeded)
 *   grayed[:F]    the in-distribution split moved toward gray 128 by factor F (default 0.5; 1 = unchanged)
 *   inverted      the in-distribution split as negatives, 255 - x
 *   vflip         the in-distribution split upside down: the same pixels, other semantics (near-OOD that
 *                 likelihood-based scores are known to miss; the suite reports it apart from its worst pair)
 * and development probes, kept out of the suite: transformations of the in-distribution images on which a
 * detector's design can be chosen without touching any pair it is judged by (`ood --dev`):
 *   noise[:S]     Gaussian pixel noise of standard deviation S levels (default 24), rounded and clipped (seeded)
 *   blur          a 3x3 box blur (edges replicated)
 *   binarized     each pixel to 0 or 255 at threshold 128
 *   saltpepper[:P] a fraction P of the pixels (default 0.05) set to 0 or 255 (seeded)
 * and a folder of the user's own PNG/JPEG images of the model's size (`folder:PATH`): another data set, say,
 * to develop a detector on a shift between data sets without touching the suite's.
 */
import { grayDataset, readImageFolder, Rng, type ImageDataset, type LoadOptions, uniformImages } from "../data/index.js";
import { loadSplit } from "../train/run.js";

const SYNTHETIC_N = 2000;

/** The probes made from the in-distribution images or to their shape (besides DATASET:SPLIT). */
export const PROBES = ["constant", "uniform", "grayed[:F]", "inverted", "vflip", "noise[:S]", "blur", "binarized", "saltpepper[:P]"] as const;

/** The development probes: for choosing a detector's design, never part of the suite that judges it. */
export const DEV_PROBES = ["noise:24", "blur", "binarized", "saltpepper:0.05"] as const;

/** A set made from `ds`'s images: the same shape, named after it and `tag`. */
const derived = (ds: ImageDataset, tag: string, images: Uint8Array): ImageDataset => ({ ...ds, name: `${ds.name}-${tag}`, split: tag, images });

/** The same images with each pixel's value mapped by f. */
const perPixel = (ds: ImageDataset, tag: string, f: (v: number) => number): ImageDataset => derived(ds, tag, ds.images.map(f));

/** A 3x3 box blur of each image plane, the border replicated. */
function boxBlur(ds: ImageDataset): Uint8Array {
  const out = new Uint8Array(ds.images.length);
  const w = ds.width,
    h = ds.height,
    planes = ds.n * ds.channels;
  const at = (p: number, r: number, c: number) => ds.images[(p * h + Math.min(h - 1, Math.max(0, r))) * w + Math.min(w - 1, Math.max(0, c))]!;
  for (let p = 0; p < planes; p++)
    for (let r = 0; r < h; r++)
      for (let c = 0; c < w; c++) {
        let sum = 0;
        for (let dr = -1; dr <= 1; dr++) for (let dc = -1; dc <= 1; dc++) sum += at(p, r + dr, c + dc);
        out[(p * h + r) * w + c] = Math.round(sum / 9);
      }
  return out;
}

/** Each image upside down (rows in reverse order, per channel). */
function flipRows(ds: ImageDataset): Uint8Array {
  const out = new Uint8Array(ds.images.length);
  const w = ds.width,
    h = ds.height,
    planes = ds.n * ds.channels;
  for (let p = 0; p < planes; p++) for (let r = 0; r < h; r++) out.set(ds.images.subarray((p * h + r) * w, (p * h + r + 1) * w), (p * h + (h - 1 - r)) * w);
  return out;
}

/** The name the report uses for a set (the spec, normalised). */
export const setLabel = (spec: string) => spec.trim();

export async function loadSet(spec: string, inDistribution: ImageDataset, o: { data?: LoadOptions; seed?: number; n?: number } = {}): Promise<ImageDataset> {
  const s = spec.trim();
  const shape = { channels: inDistribution.channels, height: inDistribution.height, width: inDistribution.width };
  const n = o.n ?? SYNTHETIC_N;
  if (s === "constant") {
    const rng = Rng.seeded(o.seed ?? 7);
    const d = shape.channels * shape.height * shape.width;
    const images = new Uint8Array(n * d);
    for (let i = 0; i < n; i++) images.fill(rng.int(256), i * d, (i + 1) * d);
    return { name: "constant", split: "synthetic", images, n, ...shape };
  }
  if (s === "uniform") return uniformImages({ n, ...shape, seed: o.seed ?? 7 });
  const gray = /^grayed(?::([0-9.]+))?$/.exec(s);
  if (gray) {
    const f = gray[1] === undefined ? 0.5 : Number(gray[1]);
    if (!(f >= 0 && f <= 1)) throw new Error(`'${s}': the graying factor must be in [0, 1] (1 = the images as they are, 0 = all gray)`);
    return { ...grayDataset(inDistribution, f), split: `grayed ${f}` };
  }
  if (s === "inverted") return perPixel(inDistribution, "inverted", (v) => 255 - v);
  if (s === "vflip") return derived(inDistribution, "vflip", flipRows(inDistribution));
  const noise = /^noise(?::([0-9.]+))?$/.exec(s);
  if (noise) {
    const sd = noise[1] === undefined ? 24 : Number(noise[1]);
    if (!(sd > 0 && sd <= 255)) throw new Error(`'${s}': the noise's standard deviation must be in (0, 255] levels`);
    const rng = Rng.seeded(o.seed ?? 7);
    return perPixel(inDistribution, `noise ${sd}`, (v) => Math.min(255, Math.max(0, Math.round(v + sd * rng.normal()))));
  }
  if (s === "blur") return derived(inDistribution, "blur", boxBlur(inDistribution));
  if (s === "binarized") return perPixel(inDistribution, "binarized", (v) => (v >= 128 ? 255 : 0));
  const sp = /^saltpepper(?::([0-9.]+))?$/.exec(s);
  if (sp) {
    const frac = sp[1] === undefined ? 0.05 : Number(sp[1]);
    if (!(frac > 0 && frac <= 1)) throw new Error(`'${s}': the fraction of pixels must be in (0, 1]`);
    const rng = Rng.seeded(o.seed ?? 7);
    return perPixel(inDistribution, `saltpepper ${frac}`, (v) => (rng.float() < frac ? (rng.float() < 0.5 ? 0 : 255) : v));
  }
  if (s.startsWith("folder:")) return imageFolder(s.slice("folder:".length), shape);
  if (!s.includes(":")) {
    throw new Error(`unknown data set '${s}': expected DATASET:SPLIT (e.g. mnist:test, mnist:test[5000:]) or one of ${PROBES.join(", ")}`);
  }
  return loadSplit(s, o.data);
}

/** A folder of images as a set, in the model's channels (colour to luma for a gray model); no resizing. */
function imageFolder(dir: string, shape: { channels: number; height: number; width: number }): ImageDataset {
  if (!dir) throw new Error("'folder:' needs a path: folder:PATH, a folder of PNG/JPEG images of the model's size");
  const f = readImageFolder(dir, { channels: shape.channels === 1 ? 1 : 3 });
  if (f.height !== shape.height || f.width !== shape.width)
    throw new Error(
      `folder:${dir}: its images are ${f.width}x${f.height}, the model's ${shape.width}x${shape.height}; resize them beforehand (not here: resampling changes the statistics the scores read)`,
    );
  return { name: "folder", split: dir, images: f.images, n: f.n, channels: f.channels, height: f.height, width: f.width };
}
