/**
 * The data sets of Nalisnick et al. (ICLR 2019), named as the CLI names them: where the official
 * files come from, what they are called, how to recognise a good copy.
 *
 * Checksums: `md5` is of the bytes as downloaded (torchvision's lists) and is only checked on the
 * download path. A local copy is checked by its decoded content instead (magic numbers, image
 * counts, and `contentMd5` of the decompressed IDX bytes where known), because re-compressed
 * copies (Debian's FashionMNIST, the MNIST test split on these machines) are the same data in
 * different .gz bytes.
 */
import { parseDatasetSplit, parseSplit } from "./split.js";

export const DATASET_NAMES = ["mnist", "fashion-mnist", "cifar10", "cifar100", "svhn", "celeba", "imagenet32"] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];
export type BaseSplit = "train" | "test";

export type SourceFormat = "idx" | "cifar10-bin" | "cifar10-tar" | "cifar100-bin" | "cifar100-tar" | "svhn-mat" | "npz" | "image-folder";

/** One way the files of a split can be laid out inside the data set's folder. */
export interface SplitSource {
  format: SourceFormat;
  /**
   * Paths relative to the data set folder. idx: [images, labels]; *-bin: batch files in order;
   * *-tar: [archive, ...member base names]; svhn-mat: [file]; npz: archives in order; image-folder: [folder].
   */
  files: string[];
}

export interface DownloadFile {
  url: string;
  /** Name to save it under, in the data set's cache folder. */
  file: string;
  /** md5 of the downloaded bytes. */
  md5: string;
}

export interface SplitInfo {
  /** Official number of images; a local copy with another count is rejected. Absent where users export their own. */
  count?: number;
  /** Layouts tried in order; the first whose files all exist is used. */
  sources: SplitSource[];
  /** Files `download: true` fetches; empty where there is no direct official download. */
  downloads: DownloadFile[];
  /** md5 of decompressed file contents, by file name without .gz. */
  contentMd5?: Record<string, string>;
}

export interface CatalogEntry {
  name: DatasetName;
  title: string;
  homepage: string;
  channels: number;
  height: number;
  width: number;
  numClasses: number;
  splits: Record<BaseSplit, SplitInfo>;
  /** Folders holding this data set's files directly, e.g. installed by a distribution package. */
  systemDirs: string[];
  /** How to get the files by hand, shown when the data set is missing. */
  instructions?: string;
  /** The data set the paper tests this one's models against as out-of-distribution. */
  oodPartner?: DatasetName;
  /**
   * Where the train split is not on this machine: a model trained on `train` (a part of the test split)
   * is tested on the rest, `test`, never on images it was trained on.
   */
  testCarveOut?: { train: string; test: string; note: string };
}

function idxSplit(prefix: "train" | "t10k", baseUrl: string, md5: [string, string], count: number, contentMd5?: Record<string, string>): SplitInfo {
  const images = `${prefix}-images-idx3-ubyte`;
  const labels = `${prefix}-labels-idx1-ubyte`;
  return {
    count,
    sources: [
      { format: "idx", files: [`${images}.gz`, `${labels}.gz`] },
      { format: "idx", files: [images, labels] },
    ],
    downloads: [
      { url: `${baseUrl}${images}.gz`, file: `${images}.gz`, md5: md5[0] },
      { url: `${baseUrl}${labels}.gz`, file: `${labels}.gz`, md5: md5[1] },
    ],
    ...(contentMd5 ? { contentMd5 } : {}),
  };
}

const MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/";
const FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";
const CIFAR10_TAR: DownloadFile = {
  url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
  file: "cifar-10-binary.tar.gz",
  md5: "c32a1d4ab5d03f1284b67883e8d87530",
};
const CIFAR100_TAR: DownloadFile = {
  url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
  file: "cifar-100-binary.tar.gz",
  md5: "03b5dce01913d631647c71ecec9e9cb8",
};
const CIFAR10_TRAIN = [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`);
const IMAGENET32_TRAIN = Array.from({ length: 10 }, (_, k) => `train_data_batch_${k + 1}.npz`);

export const CATALOG: Record<DatasetName, CatalogEntry> = {
  mnist: {
    name: "mnist",
    title: "MNIST",
    homepage: "http://yann.lecun.com/exdb/mnist/",
    channels: 1,
    height: 28,
    width: 28,
    numClasses: 10,
    splits: {
      // train content md5 left out: not known here; the download path checks the .gz md5
      train: idxSplit("train", MNIST_URL, ["f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432"], 60000),
      test: idxSplit("t10k", MNIST_URL, ["9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"], 10000, {
        // /work/shared/datasets/mnist/MD5SUMS.uncompressed (upstream content)
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
      }),
    },
    systemDirs: [],
    oodPartner: "fashion-mnist",
    // Only MNIST's test split is on these machines (the shared datasets folder).
    testCarveOut: {
      train: "test[:5000]",
      test: "test[5000:]",
      note: "MNIST's train split is not on this machine: the model was trained on mnist:test[:5000] and is tested on mnist:test[5000:].",
    },
  },
  "fashion-mnist": {
    name: "fashion-mnist",
    title: "Fashion-MNIST",
    homepage: "https://github.com/zalandoresearch/fashion-mnist",
    channels: 1,
    height: 28,
    width: 28,
    numClasses: 10,
    // Content md5s measured on Debian's dataset-fashion-mnist copy. Its .gz files differ from upstream
    // only in the gzip header (no file name; each is exactly strlen(name)+1 bytes shorter than upstream),
    // so the deflate streams, hence the contents, are upstream's.
    splits: {
      train: idxSplit("train", FASHION_URL, ["8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe"], 60000, {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
      }),
      test: idxSplit("t10k", FASHION_URL, ["bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"], 10000, {
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
      }),
    },
    systemDirs: ["/usr/share/datasets/fashion-mnist"], // Debian package dataset-fashion-mnist
    oodPartner: "mnist",
  },
  cifar10: {
    name: "cifar10",
    title: "CIFAR-10 (binary version)",
    homepage: "https://www.cs.toronto.edu/~kriz/cifar.html",
    channels: 3,
    height: 32,
    width: 32,
    numClasses: 10,
    splits: {
      train: {
        count: 50000,
        sources: [
          { format: "cifar10-bin", files: CIFAR10_TRAIN.map((f) => `cifar-10-batches-bin/${f}`) },
          { format: "cifar10-tar", files: [CIFAR10_TAR.file, ...CIFAR10_TRAIN] },
        ],
        downloads: [CIFAR10_TAR],
      },
      test: {
        count: 10000,
        sources: [
          { format: "cifar10-bin", files: ["cifar-10-batches-bin/test_batch.bin"] },
          { format: "cifar10-tar", files: [CIFAR10_TAR.file, "test_batch.bin"] },
        ],
        downloads: [CIFAR10_TAR],
      },
    },
    systemDirs: [],
    oodPartner: "svhn",
  },
  cifar100: {
    name: "cifar100",
    title: "CIFAR-100 (binary version; labels are the 100 fine classes)",
    homepage: "https://www.cs.toronto.edu/~kriz/cifar.html",
    channels: 3,
    height: 32,
    width: 32,
    numClasses: 100,
    splits: {
      train: {
        count: 50000,
        sources: [
          { format: "cifar100-bin", files: ["cifar-100-binary/train.bin"] },
          { format: "cifar100-tar", files: [CIFAR100_TAR.file, "train.bin"] },
        ],
        downloads: [CIFAR100_TAR],
      },
      test: {
        count: 10000,
        sources: [
          { format: "cifar100-bin", files: ["cifar-100-binary/test.bin"] },
          { format: "cifar100-tar", files: [CIFAR100_TAR.file, "test.bin"] },
        ],
        downloads: [CIFAR100_TAR],
      },
    },
    systemDirs: [],
  },
  svhn: {
    name: "svhn",
    title: "SVHN cropped digits (label 0 is the digit 0; the .mat files write it as 10)",
    homepage: "http://ufldl.stanford.edu/housenumbers/",
    channels: 3,
    height: 32,
    width: 32,
    numClasses: 10,
    splits: {
      train: {
        count: 73257,
        sources: [{ format: "svhn-mat", files: ["train_32x32.mat"] }],
        downloads: [{ url: "http://ufldl.stanford.edu/housenumbers/train_32x32.mat", file: "train_32x32.mat", md5: "e26dedcc434d2e4c54c9b2d4a06d8373" }],
      },
      test: {
        count: 26032,
        sources: [{ format: "svhn-mat", files: ["test_32x32.mat"] }],
        downloads: [{ url: "http://ufldl.stanford.edu/housenumbers/test_32x32.mat", file: "test_32x32.mat", md5: "eb5a983be6a315427106f1b164d9cef3" }],
      },
    },
    systemDirs: [],
    oodPartner: "cifar10",
  },
  celeba: {
    name: "celeba",
    title: "CelebA, downsampled to 32x32 RGB",
    homepage: "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
    channels: 3,
    height: 32,
    width: 32,
    numClasses: 0,
    splits: {
      train: {
        sources: [
          { format: "npz", files: ["train.npz"] },
          { format: "image-folder", files: ["train"] },
        ],
        downloads: [],
      },
      test: {
        sources: [
          { format: "npz", files: ["test.npz"] },
          { format: "image-folder", files: ["test"] },
        ],
        downloads: [],
      },
    },
    systemDirs: [],
    instructions:
      "CelebA has no single-file official download (it is on Google Drive behind a confirmation page). Download img_align_celeba and list_eval_partition.txt from the homepage, " +
      'resize the images to 32x32 RGB, and place either celeba/train.npz and celeba/test.npz (numpy.savez with a uint8 array "images" of shape (N, 32, 32, 3) or (N, 3, 32, 32)) ' +
      "or folders celeba/train/ and celeba/test/ of 32x32 PNG/JPEG files, in a data root.",
  },
  imagenet32: {
    name: "imagenet32",
    title: "Downsampled ImageNet 32x32 (Chrabaszcz et al. 2017; labels as stored, 1..1000)",
    homepage: "https://image-net.org/download-images.php",
    channels: 3,
    height: 32,
    width: 32,
    numClasses: 1000,
    splits: {
      train: {
        count: 1281167,
        sources: [
          { format: "npz", files: IMAGENET32_TRAIN },
          { format: "npz", files: ["train.npz"] },
        ],
        downloads: [],
      },
      test: {
        count: 50000,
        sources: [
          { format: "npz", files: ["val_data.npz"] },
          { format: "npz", files: ["test.npz"] },
        ],
        downloads: [],
      },
    },
    systemDirs: [],
    instructions:
      'ImageNet32 needs an image-net.org login. Download Imagenet32_train_npz.zip and Imagenet32_val_npz.zip ("Downsampled ImageNet 32x32"), unzip them, ' +
      "and place train_data_batch_1.npz ... train_data_batch_10.npz and val_data.npz in imagenet32/ in a data root (the val set is used as the test split).",
  },
};

export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

export function getCatalogEntry(name: string): CatalogEntry {
  if (!isDatasetName(name)) throw new Error(`Unknown data set "${name}". Known data sets: ${DATASET_NAMES.join(", ")}.`);
  return CATALOG[name];
}

/** The paper's splits for a model trained on `train` ("DATASET:SPLIT"): its own test data and its OOD partner's. */
export interface PaperSplits {
  train: string;
  test: string;
  /** The partner's test split; absent for a data set the paper pairs with none. */
  ood?: string;
  /** Set where the test split is a carve-out (testCarveOut), saying so. */
  note?: string;
}

export function paperSplits(train: string): PaperSplits {
  const { dataset, split } = parseDatasetSplit(train);
  const entry = isDatasetName(dataset) ? CATALOG[dataset] : undefined;
  const ood = entry?.oodPartner ? { ood: `${entry.oodPartner}:test` } : {};
  const carve = entry?.testCarveOut;
  // Trained on a part of the test split: tested on the rest.
  if (carve && parseSplit(split).base === "test") return { train, test: `${dataset}:${carve.test}`, ...ood, note: carve.note };
  return { train, test: `${dataset}:test`, ...ood };
}
