/**
 * Image arrays in .npz archives (numpy.savez / savez_compressed), used for data sets without a
 * single official download: ImageNet32 (official Imagenet32_*_npz batches: 'data' (N, 3072) with
 * 1024 R, 1024 G, 1024 B values per row, 'labels') and CelebA exported as uint8 images.
 *
 * Accepted image array shapes (uint8):
 *   (N, H, W, C) with C in {1, 3}  -> NHWC, transposed to NCHW
 *   (N, C, H, W) with C in {1, 3}  -> NCHW as is
 *   (N, H, W)                       -> one channel
 *   (N, D), D = 3*S*S or S*S        -> flattened CHW rows of square images (ImageNet32 layout)
 * When both axis 1 and axis 3 could be the channel axis, pass `layout`.
 */
import { DataFileError, REDOWNLOAD } from "./errors.js";
import { type NpyArray, isUint8, npyToInt32, parseNpy } from "./npy.js";
import { ZipReader } from "./zip.js";

export type ImageLayout = "NHWC" | "NCHW";

export interface NpzImageOptions {
  /** Array holding the images; default: the first of images, data, x, X, arr_0 that exists, else the only uint8 array. */
  imagesKey?: string;
  /** Array holding labels; default: labels, y or targets when present. */
  labelsKey?: string;
  /** Force the layout of 4-D arrays. */
  layout?: ImageLayout;
}

export interface DecodedImages {
  images: Uint8Array; // NCHW
  labels?: Int32Array;
  n: number;
  channels: number;
  height: number;
  width: number;
}

const IMAGE_KEYS = ["images", "data", "x", "X", "arr_0"];
const LABEL_KEYS = ["labels", "y", "targets"];

/** Converts a uint8 image array of any accepted shape to NCHW. */
export function imagesFromNpy(a: NpyArray, where: string, layout?: ImageLayout): Omit<DecodedImages, "labels"> {
  if (!isUint8(a)) {
    throw new DataFileError(where, `images have dtype '${a.descr}', expected uint8 ('|u1') raw pixel values`, "Save them with x.astype(numpy.uint8)");
  }
  const s = a.shape;
  const isCh = (d: number | undefined): boolean => d === 1 || d === 3;
  if (s.length === 2) {
    const [n, d] = s;
    for (const c of [3, 1]) {
      const side = Math.round(Math.sqrt(d / c));
      if (d % c === 0 && side * side * c === d) return { images: a.data, n, channels: c, height: side, width: side };
    }
    throw new DataFileError(
      where,
      `images have shape (${s.join(", ")}): ${d} values per row is neither 3*S*S nor S*S`,
      "Save the images as (N, H, W, C) or (N, C, H, W)",
    );
  }
  if (s.length === 3) return { images: a.data, n: s[0], channels: 1, height: s[1], width: s[2] };
  if (s.length !== 4) {
    throw new DataFileError(where, `images have shape (${s.join(", ")}), expected 2 to 4 dimensions`, "Save the images as (N, H, W, C) or (N, C, H, W)");
  }
  let chosen = layout;
  if (!chosen) {
    if (isCh(s[3]) && !isCh(s[1])) chosen = "NHWC";
    else if (isCh(s[1]) && !isCh(s[3])) chosen = "NCHW";
    else if (isCh(s[1]))
      throw new DataFileError(where, `images have shape (${s.join(", ")}): both axis 1 and axis 3 could be the channel axis`, "Pass layout: 'NHWC' or 'NCHW'");
    else
      throw new DataFileError(
        where,
        `images have shape (${s.join(", ")}): no channel axis of size 1 or 3 at axis 1 or 3`,
        "Save the images as (N, H, W, C) or (N, C, H, W) with C = 1 or 3",
      );
  }
  if (chosen === "NCHW") return { images: a.data, n: s[0], channels: s[1], height: s[2], width: s[3] };
  const [n, h, w, c] = s;
  const out = new Uint8Array(a.data.length);
  const src = a.data;
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    const base = i * plane * c;
    for (let p = 0; p < plane; p++) {
      const sp = base + p * c;
      for (let k = 0; k < c; k++) out[base + k * plane + p] = src[sp + k];
    }
  }
  return { images: out, n, channels: c, height: h, width: w };
}

/** Reads the images (and labels, when present) of one .npz archive. */
export function readNpzFile(file: string, opts: NpzImageOptions = {}): DecodedImages {
  const zip = ZipReader.open(file);
  try {
    const byKey = new Map(zip.members.filter((m) => m.name.endsWith(".npy")).map((m) => [m.name.slice(0, -4), m]));
    const keys = [...byKey.keys()];
    const load = (key: string): NpyArray => parseNpy(zip.readMember(byKey.get(key)!), `${file}:${key}.npy`);
    let imagesKey = opts.imagesKey ?? IMAGE_KEYS.find((k) => byKey.has(k));
    let imagesArr: NpyArray | undefined;
    if (opts.imagesKey && !byKey.has(opts.imagesKey)) {
      throw new DataFileError(file, `no array named "${opts.imagesKey}" (arrays: ${keys.join(", ") || "none"})`, "Pass the right imagesKey");
    }
    if (!imagesKey) {
      const candidates = keys.map((k) => [k, load(k)] as const).filter(([, a]) => isUint8(a) && a.shape.length >= 2);
      if (candidates.length !== 1) {
        throw new DataFileError(
          file,
          `cannot tell which array holds the images (arrays: ${keys.join(", ") || "none"}; ${candidates.length} uint8 arrays with 2+ dimensions)`,
          `Name it one of ${IMAGE_KEYS.join(", ")} or pass imagesKey`,
        );
      }
      [imagesKey, imagesArr] = candidates[0];
    }
    const decoded = imagesFromNpy(imagesArr ?? load(imagesKey), `${file}:${imagesKey}.npy`, opts.layout);
    const labelsKey = opts.labelsKey ?? LABEL_KEYS.find((k) => byKey.has(k));
    if (opts.labelsKey && !byKey.has(opts.labelsKey)) {
      throw new DataFileError(file, `no array named "${opts.labelsKey}" (arrays: ${keys.join(", ")})`, "Pass the right labelsKey");
    }
    if (!labelsKey) return decoded;
    const labels = npyToInt32(load(labelsKey), `${file}:${labelsKey}.npy`);
    if (labels.length !== decoded.n) {
      throw new DataFileError(file, `"${labelsKey}" has ${labels.length} labels but "${imagesKey}" has ${decoded.n} images`, REDOWNLOAD);
    }
    return { ...decoded, labels };
  } finally {
    zip.close();
  }
}

/** Reads several .npz archives (e.g. ImageNet32's 10 training batches) and concatenates them in order. */
export function readNpzImages(files: string | string[], opts: NpzImageOptions = {}): DecodedImages {
  const list = typeof files === "string" ? [files] : files;
  const parts = list.map((f) => readNpzFile(f, opts));
  if (parts.length === 1) return parts[0];
  const first = parts[0];
  parts.forEach((p, i) => {
    if (p.channels !== first.channels || p.height !== first.height || p.width !== first.width) {
      throw new DataFileError(
        list[i],
        `images are ${p.channels}x${p.height}x${p.width}, ${list[0]} has ${first.channels}x${first.height}x${first.width}`,
        "All files of a split must hold images of one size",
      );
    }
  });
  const n = parts.reduce((a, p) => a + p.n, 0);
  const size = first.channels * first.height * first.width;
  const images = new Uint8Array(n * size);
  const withLabels = parts.every((p) => p.labels);
  const labels = withLabels ? new Int32Array(n) : undefined;
  let k = 0;
  for (const p of parts) {
    images.set(p.images, k * size);
    if (labels && p.labels) labels.set(p.labels, k);
    k += p.n;
  }
  return { images, labels, n, channels: first.channels, height: first.height, width: first.width };
}
