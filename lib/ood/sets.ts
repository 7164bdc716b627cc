/**
 * The data sets an OOD comparison names: a catalog split ("mnist:test", "mnist:test[5000:]"), or one of the
 * paper's synthetic probes made to the in-distribution images' shape:
 *   constant      images of one value each, the values spread over 0..255 (seeded)
 *   uniform       uniform noise over 0..255 per pixel (seeded)
 *   grayed[:F]    the in-distribution split moved toward gray 128 by factor F (default 0.5; 1 = unchanged)
 *   inverted      the in-distribution split as negatives, 255 - x
 *   vflip         the in-distribution split upside down: the same pixels, other semantics (near-OOD that
 *                 likelihood-based scores are known to miss; the suite reports it apart from its worst pair)
 */
import { grayDataset, Rng, type ImageDataset, type LoadOptions, uniformImages } from "../data/index.js";
import { loadSplit } from "../train/run.js";

const SYNTHETIC_N = 2000;

/** The probes made from the in-distribution images or to their shape (besides DATASET:SPLIT). */
export const PROBES = ["constant", "uniform", "grayed[:F]", "inverted", "vflip"] as const;

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
  if (s === "inverted")
    return { ...inDistribution, name: `${inDistribution.name}-inverted`, split: "inverted", images: inDistribution.images.map((v) => 255 - v) };
  if (s === "vflip") return { ...inDistribution, name: `${inDistribution.name}-vflip`, split: "vflip", images: flipRows(inDistribution) };
  if (!s.includes(":")) {
    throw new Error(`unknown data set '${s}': expected DATASET:SPLIT (e.g. mnist:test, mnist:test[5000:]) or one of ${PROBES.join(", ")}`);
  }
  return loadSplit(s, o.data);
}
