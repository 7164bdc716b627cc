/**
 * A folder of PNG/JPEG images, all of one size (no resizing: resampling would change the pixel
 * statistics the likelihoods are sensitive to). Files are taken in sorted name order, so the
 * data set order is reproducible. Decoders: pngjs and jpeg-js, pure JS, no native build.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
// pngjs / jpeg-js: well-kept pure-JS decoders (PNG needs inflate + filters + interlace + bit depths,
// baseline/progressive JPEG needs a full DCT decoder); not worth hand-writing.
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { DataFileError } from "./errors.js";
import { readDataFile } from "./read-file.js";

export interface FolderOptions {
  /** Force 1 (gray; colour images become BT.601 luma) or 3 (RGB) channels; default 1 when every image is gray (R = G = B everywhere), else 3. */
  channels?: 1 | 3;
}

export interface FolderImages {
  images: Uint8Array; // NCHW
  n: number;
  channels: number;
  height: number;
  width: number;
  /** Image file paths, in data set order. */
  files: string[];
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;

/** Decodes one image file to RGBA bytes. */
export function decodeImageFile(file: string): { width: number; height: number; rgba: Uint8Array } {
  const bytes = readDataFile(file);
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, rgba: png.data };
    }
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
      return { width: img.width, height: img.height, rgba: img.data };
    }
  } catch (e) {
    throw new DataFileError(file, `cannot decode the image (${(e as Error).message}); it is damaged or truncated`, "Replace or remove the file");
  }
  throw new DataFileError(file, "is neither a PNG nor a JPEG (by its first bytes) despite its name", "Convert it to PNG or remove it");
}

export function listImageFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new DataFileError(dir, `cannot list the folder (${(e as Error).message})`, "Check the path");
  }
  return names
    .filter((f) => IMAGE_EXT.test(f) && statSync(join(dir, f)).isFile())
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((f) => join(dir, f));
}

export function readImageFolder(dir: string, opts: FolderOptions = {}): FolderImages {
  const files = listImageFiles(dir);
  if (files.length === 0) throw new DataFileError(dir, "holds no .png/.jpg/.jpeg files", "Put the images of the split in this folder");
  const decoded = files.map((f) => decodeImageFile(f));
  const { width, height } = decoded[0];
  decoded.forEach((d, i) => {
    if (d.width !== width || d.height !== height) {
      throw new DataFileError(
        files[i],
        `is ${d.width}x${d.height}, but ${files[0]} is ${width}x${height}; all images must have the same size`,
        "Resize/crop the images beforehand (e.g. CelebA to 32x32)",
      );
    }
  });
  const gray = decoded.every(({ rgba }) => {
    for (let p = 0; p < rgba.length; p += 4) if (rgba[p] !== rgba[p + 1] || rgba[p] !== rgba[p + 2]) return false;
    return true;
  });
  const channels = opts.channels ?? (gray ? 1 : 3);
  const plane = width * height;
  const images = new Uint8Array(files.length * channels * plane);
  decoded.forEach(({ rgba }, i) => {
    if (channels === 1 && !gray) {
      // colour images forced to one channel: ITU-R BT.601 luma, as PIL's convert('L') does
      const base = i * plane;
      for (let p = 0; p < plane; p++) images[base + p] = Math.round(0.299 * rgba[p * 4] + 0.587 * rgba[p * 4 + 1] + 0.114 * rgba[p * 4 + 2]);
      return;
    }
    for (let c = 0; c < channels; c++) {
      const base = (i * channels + c) * plane;
      for (let p = 0; p < plane; p++) images[base + p] = rgba[p * 4 + c];
    }
  });
  return { images, n: files.length, channels, height, width, files };
}
