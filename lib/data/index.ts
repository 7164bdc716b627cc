/** Public API of the data layer: typed-array data sets, loaders and transforms (no tensors here). */
export type { ImageDataset } from "./types.js";
export { DataFileError } from "./errors.js";
export { Rng, mixSeed, type RngState } from "./rng.js";

export { readIdxImages, readIdxLabels, readIdxBytes, parseIdx, type IdxArray, type IdxImages } from "./idx.js";
export { parseCifarBatch, readCifarBatches, readCifarFromTarGz, type CifarImages, type CifarVariant } from "./cifar.js";
export { readTarMembers, extractTarMembers } from "./tar.js";
export { parseMatV5, type MatVariable } from "./matv5.js";
export { readSvhnMat, svhnFromMatBytes, type SvhnImages } from "./svhn.js";
export { ZipReader, type ZipMember } from "./zip.js";
export { parseNpy, type NpyArray } from "./npy.js";
export { readNpzImages, readNpzFile, imagesFromNpy, type NpzImageOptions, type DecodedImages, type ImageLayout } from "./npz.js";
export { readImageFolder, decodeImageFile, type FolderOptions, type FolderImages } from "./folder.js";

export {
  CATALOG,
  DATASET_NAMES,
  getCatalogEntry,
  isDatasetName,
  paperSplits,
  type BaseSplit,
  type PaperSplits,
  type CatalogEntry,
  type DatasetName,
  type DownloadFile,
  type SourceFormat,
  type SplitInfo,
  type SplitSource,
} from "./catalog.js";
export {
  DATA_ENV_VAR,
  DatasetNotFoundError,
  cacheRoot,
  defaultCacheRoot,
  findSplit,
  locateSplit,
  notFoundMessage,
  searchPlaces,
  type LocateOptions,
  type LocatedSplit,
  type SearchPlace,
} from "./locate.js";
export { DownloadError, downloadFile, downloadSplit, type DownloadOptions, type DownloadResult, type DownloadSplitOptions } from "./download.js";
export { parseSplit, resolveRange, formatSplit, formatClasses, parseDatasetSplit, formatDatasetSplit, type SplitSpec, type DatasetSplit } from "./split.js";
export { decodeLocatedSplit } from "./decode.js";
export { loadDataset, clearDatasetCache, sliceDataset, selectClasses, type LoadOptions } from "./load.js";

export { constantImages, uniformImages, twoMoons, twoMoonsWithLabels, type ImageShape, type TwoMoonsOptions } from "./synthetic.js";
export {
  binCenters,
  centerUnit,
  dequantize,
  gray,
  grayDataset,
  mutatePixels,
  padDataset,
  padImages,
  scaleToCentered,
  scaleToUnit,
  tileChannels,
  tileDatasetChannels,
} from "./transforms.js";
export { BatchLoader, type Batch, type BatchLoaderOptions, type LoaderState } from "./loader.js";
