/**
 * The data sets an OOD comparison names: a catalog split ("mnist:test", "mnist:test[5000:]"), or one of the
 * paper's synthetic probes made to the in-distribution images' shape:
 *   constant      images of one value each, the values spread over 0..255 (seeded)
 *   uniform       uniform noise over 0..255 per pixel (seeded)
 *   grayed[:F]    the in-distribution split moved toward gray 128 by factor F (default 0.5; 1 = unchanged)
 */
import { grayDataset, Rng, type ImageDataset, type LoadOptions, uniformImages } from "../data/index.js";
import { loadSplit } from "../train/run.js";

const SYNTHETIC_N = 2000;

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
  if (!s.includes(":")) {
    throw new Error(`unknown data set '${s}': expected DATASET:SPLIT (e.g. mnist:test, mnist:test[5000:]) or one of constant, uniform, grayed[:F]`);
  }
  return loadSplit(s, o.data);
}
