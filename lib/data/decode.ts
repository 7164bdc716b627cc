/**
 * Turns a located split (format + files) into an ImageDataset and checks it against the catalog:
 * image size, official count, and the md5 of decompressed contents where the catalog knows it.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { type CatalogEntry, getCatalogEntry } from "./catalog.js";
import { readCifarBatches, readCifarFromTarGz } from "./cifar.js";
import { DataFileError, REDOWNLOAD } from "./errors.js";
import { readImageFolder } from "./folder.js";
import { idxImagesFromBytes, idxLabelsFromBytes, readIdxBytes } from "./idx.js";
import type { LocatedSplit } from "./locate.js";
import { readNpzImages } from "./npz.js";
import { readSvhnMat } from "./svhn.js";
import type { ImageDataset } from "./types.js";

type Decoded = Omit<ImageDataset, "name" | "split">;

function checkContentMd5(entry: CatalogEntry, loc: LocatedSplit, file: string, bytes: Uint8Array): void {
  const expected = entry.splits[loc.split].contentMd5?.[basename(file).replace(/\.gz$/, "")];
  if (!expected) return;
  const got = createHash("md5").update(bytes).digest("hex");
  if (got !== expected) {
    throw new DataFileError(file, `decompressed content has md5 ${got}, the official ${entry.title} file has ${expected}`, REDOWNLOAD);
  }
}

function decodeIdx(entry: CatalogEntry, loc: LocatedSplit, verify: boolean): Decoded {
  const [imagesFile, labelsFile] = loc.paths;
  const imageBytes = readIdxBytes(imagesFile);
  const labelBytes = readIdxBytes(labelsFile);
  if (verify) {
    checkContentMd5(entry, loc, imagesFile, imageBytes);
    checkContentMd5(entry, loc, labelsFile, labelBytes);
  }
  const img = idxImagesFromBytes(imageBytes, imagesFile);
  const labels = idxLabelsFromBytes(labelBytes, labelsFile);
  if (labels.length !== img.n) {
    throw new DataFileError(
      labelsFile,
      `has ${labels.length} labels but ${imagesFile} has ${img.n} images`,
      "Use the images and labels files of the same split",
    );
  }
  return { images: img.images, labels, n: img.n, channels: 1, height: img.height, width: img.width };
}

export function decodeLocatedSplit(loc: LocatedSplit, verify = true): Decoded {
  const entry = getCatalogEntry(loc.name);
  const f = loc.source.format;
  let d: Decoded;
  if (f === "idx") {
    d = decodeIdx(entry, loc, verify);
  } else if (f === "cifar10-bin" || f === "cifar100-bin") {
    const c = readCifarBatches(loc.paths, f === "cifar10-bin" ? "cifar10" : "cifar100");
    d = { images: c.images, labels: c.labels, n: c.n, channels: 3, height: 32, width: 32 };
  } else if (f === "cifar10-tar" || f === "cifar100-tar") {
    const c = readCifarFromTarGz(loc.paths[0], loc.paths.slice(1), f === "cifar10-tar" ? "cifar10" : "cifar100");
    d = { images: c.images, labels: c.labels, n: c.n, channels: 3, height: 32, width: 32 };
  } else if (f === "svhn-mat") {
    d = readSvhnMat(loc.paths[0]);
  } else if (f === "npz") {
    d = readNpzImages(loc.paths);
  } else {
    // the catalog fixes the channel count: an all-gray folder of a colour data set is still RGB
    const folder = readImageFolder(loc.paths[0], { channels: entry.channels === 1 ? 1 : 3 });
    d = { images: folder.images, n: folder.n, channels: folder.channels, height: folder.height, width: folder.width };
  }
  const where = loc.paths[0];
  if (d.channels !== entry.channels || d.height !== entry.height || d.width !== entry.width) {
    throw new DataFileError(
      where,
      `images are ${d.channels}x${d.height}x${d.width} (CxHxW), ${entry.name} images are ${entry.channels}x${entry.height}x${entry.width}`,
      entry.instructions ?? REDOWNLOAD,
    );
  }
  // Checked whether or not verify is: a label out of range would index past a class table later.
  if (d.labels) {
    const labels = d.labels;
    for (let i = 0; i < labels.length; i++)
      if (!(labels[i]! >= 0 && labels[i]! < entry.numClasses))
        throw new DataFileError(
          loc.paths[loc.paths.length > 1 && f === "idx" ? 1 : 0]!,
          `label ${labels[i]} of image ${i} is not a class of ${entry.name} (0 to ${entry.numClasses - 1}); the file is damaged or not the official one`,
          REDOWNLOAD,
        );
  }
  const count = entry.splits[loc.split].count;
  if (verify && count !== undefined && d.n !== count) {
    throw new DataFileError(
      where,
      `holds ${d.n} images, the official ${entry.name} ${loc.split} split has ${count}; the copy is incomplete or not the official one`,
      REDOWNLOAD,
    );
  }
  return d;
}
