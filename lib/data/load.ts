/**
 * loadDataset: catalog name + split string -> ImageDataset, finding (or downloading) the files,
 * decoding and verifying them. Decoded official splits are kept in memory for the life of the
 * process, because an evaluation run reads the same split several times (e.g. test[:5000] and
 * test[5000:]); slices are zero-copy views of the cached split.
 */
import { type BaseSplit, getCatalogEntry } from "./catalog.js";
import { decodeLocatedSplit } from "./decode.js";
import { type DownloadSplitOptions, downloadSplit } from "./download.js";
import { type LocatedSplit, findSplit, locateSplit } from "./locate.js";
import { formatClasses, formatSplit, parseSplit, resolveRange } from "./split.js";
import type { ImageDataset } from "./types.js";
import { parseWith, z } from "../schema.js";

/** loadDataset's options as a schema (lib/schema.ts): a misspelt option (`donwload`) is an error, not ignored. */
export const loadOptionsSchema = z.strictObject(
  {
    /** A data root given explicitly (CLI --data-dir); searched first. */
    dataDir: z.string().optional(),
    /** Cache root for downloads; default $XDG_CACHE_HOME/torchts-ood or ~/.cache/torchts-ood. */
    cacheDir: z.string().optional(),
    /** Environment to read TORCHTS_OOD_DATA / XDG_CACHE_HOME from; default process.env (tests pass their own). */
    env: z.record(z.string(), z.string().optional()).optional(),
    /** System folders to search; default the catalog's (tests pass [] to avoid depending on the machine). */
    systemDirs: z.array(z.string()).optional(),
    progress: z.boolean().optional(),
    /** Base URL to fetch the official file names from instead of the official URLs (a mirror). */
    mirror: z.string().optional(),
    idleTimeoutMs: z.number().positive().optional(),
    /** Fetch the official files into the cache when the split is found nowhere. */
    download: z.boolean().optional(),
    /** Check official counts and known content md5s (default true). */
    verify: z.boolean().optional(),
  },
  { error: "must be an object of options" },
);
export type LoadOptions = z.infer<typeof loadOptionsSchema> & DownloadSplitOptions;

const cache = new Map<string, Promise<ImageDataset>>();

/** Forgets the decoded data sets (tests; or to free memory between experiments). */
export function clearDatasetCache(): void {
  cache.clear();
}

/** A zero-copy view of images [start, end) of a data set. */
export function sliceDataset(ds: ImageDataset, start: number, end: number, split = `${ds.split}[${start}:${end}]`): ImageDataset {
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= ds.n)) {
    throw new Error(`sliceDataset: bad range [${start}, ${end}) for ${ds.name} ${ds.split} with ${ds.n} images`);
  }
  const size = ds.channels * ds.height * ds.width;
  const out: ImageDataset = {
    name: ds.name,
    split,
    images: ds.images.subarray(start * size, end * size),
    n: end - start,
    channels: ds.channels,
    height: ds.height,
    width: ds.width,
  };
  if (ds.labels) out.labels = ds.labels.subarray(start, end);
  return out;
}

async function locateOrDownload(name: string, base: BaseSplit, opts: LoadOptions): Promise<LocatedSplit> {
  const found = findSplit(name, base, opts);
  if (found || !opts.download) return found ?? locateSplit(name, base, opts);
  await downloadSplit(name, base, opts);
  return locateSplit(name, base, opts);
}

/**
 * Loads `split` (see split.ts: train, test, train[:50000], test[5000:], ...) of catalog data set
 * `name`. Files are looked for as locate.ts describes; with `download: true` missing files are
 * fetched into the cache (md5-checked).
 */
export async function loadDataset(name: string, split: string, opts: LoadOptions = {}): Promise<ImageDataset> {
  parseWith(loadOptionsSchema, opts, "loadDataset options");
  const entry = getCatalogEntry(name);
  const spec = parseSplit(split);
  const loc = await locateOrDownload(entry.name, spec.base, opts);
  const verify = opts.verify ?? true;
  const key = JSON.stringify([entry.name, spec.base, loc.source.format, loc.paths, verify]);
  let whole = cache.get(key);
  if (!whole) {
    whole = Promise.resolve().then(() => ({ name: entry.name, split: spec.base, ...decodeLocatedSplit(loc, verify) }));
    cache.set(key, whole);
    whole.catch(() => cache.delete(key)); // a failed load is retried next time, not cached
  }
  const ds = await whole;
  if (spec.start === undefined && spec.end === undefined && !spec.classes) return ds;
  const [start, end] = resolveRange(spec, ds.n, `${entry.name} ${spec.base}`);
  const range = sliceDataset(ds, start, end, formatSplit(spec));
  return spec.classes ? selectClasses(range, spec.classes) : range;
}

/** The images of `ds` whose label is one of `classes` (a copy, in order). */
export function selectClasses(ds: ImageDataset, classes: readonly number[]): ImageDataset {
  const labels = ds.labels;
  if (!labels) throw new Error(`${ds.name} ${ds.split} has no labels, so its images cannot be selected by class`);
  const wanted = new Set(classes);
  const keep: number[] = [];
  for (let i = 0; i < ds.n; i++) if (wanted.has(labels[i]!)) keep.push(i);
  if (keep.length === 0) throw new Error(`${ds.name} ${ds.split} has no image of classes {${formatClasses(classes)}}`);
  const size = ds.channels * ds.height * ds.width;
  const images = new Uint8Array(keep.length * size);
  keep.forEach((i, k) => images.set(ds.images.subarray(i * size, (i + 1) * size), k * size));
  return {
    ...ds,
    images,
    n: keep.length,
    labels: labels instanceof Int32Array ? Int32Array.from(keep, (i) => labels[i]!) : Uint8Array.from(keep, (i) => labels[i]!),
  };
}
