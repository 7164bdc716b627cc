/**
 * Finding a data set's files on disk. A *data root* holds one folder per data set, named as the
 * catalog names it, with the official file names inside (e.g. <root>/mnist/t10k-images-idx3-ubyte.gz).
 * Places searched, in order:
 *   1. the `dataDir` option (CLI --data-dir), a data root
 *   2. $TORCHTS_OOD_DATA, one or more data roots separated by ':'
 *   3. the cache root where downloads go: `cacheDir` option, else $XDG_CACHE_HOME/torchts-ood, else ~/.cache/torchts-ood
 *   4. system folders holding one data set's files directly (Debian's /usr/share/datasets/fashion-mnist)
 * Roots are never taken as a data set folder themselves: MNIST and FashionMNIST use the same file
 * names, so a root with the files directly in it would be ambiguous.
 */
import { statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { type BaseSplit, type DatasetName, type SplitSource, getCatalogEntry } from "./catalog.js";

export const DATA_ENV_VAR = "TORCHTS_OOD_DATA";

export interface LocateOptions {
  /** A data root given explicitly (CLI --data-dir); searched first. */
  dataDir?: string;
  /** Cache root for downloads; default $XDG_CACHE_HOME/torchts-ood or ~/.cache/torchts-ood. */
  cacheDir?: string;
  /** Environment to read TORCHTS_OOD_DATA / XDG_CACHE_HOME from; default process.env (tests pass their own). */
  env?: Record<string, string | undefined>;
  /** System folders to search; default the catalog's (tests pass [] to avoid depending on the machine). */
  systemDirs?: string[];
}

export interface SearchPlace {
  /** Folder that would hold the data set's files. */
  dir: string;
  /** Where that folder came from, for messages. */
  origin: string;
}

export interface LocatedSplit {
  name: DatasetName;
  split: BaseSplit;
  dir: string;
  origin: string;
  source: SplitSource;
  /** Absolute paths of source.files (for *-tar: [archive, ...member names] with only the archive resolved). */
  paths: string[];
}

export function defaultCacheRoot(env: Record<string, string | undefined> = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return resolve(xdg && xdg !== "" ? xdg : join(homedir(), ".cache"), "torchts-ood");
}

export function cacheRoot(opts: LocateOptions = {}): string {
  return opts.cacheDir ? resolve(opts.cacheDir) : defaultCacheRoot(opts.env ?? process.env);
}

/** The folders searched for a data set, in order. */
export function searchPlaces(name: string, opts: LocateOptions = {}): SearchPlace[] {
  const entry = getCatalogEntry(name);
  const env = opts.env ?? process.env;
  const places: SearchPlace[] = [];
  if (opts.dataDir) places.push({ dir: resolve(opts.dataDir, entry.name), origin: "dataDir option (--data-dir)" });
  for (const root of (env[DATA_ENV_VAR] ?? "").split(delimiter).filter((r) => r !== "")) {
    places.push({ dir: resolve(root, entry.name), origin: `$${DATA_ENV_VAR}` });
  }
  places.push({ dir: join(cacheRoot(opts), entry.name), origin: "download cache" });
  for (const dir of opts.systemDirs ?? entry.systemDirs) places.push({ dir, origin: "system data folder" });
  return places;
}

function exists(path: string, kind: "file" | "dir"): boolean {
  try {
    const s = statSync(path);
    return kind === "file" ? s.isFile() : s.isDirectory();
  } catch {
    return false;
  }
}

/** The files on disk of a source in `dir`, or undefined when any is missing. */
function sourcePaths(dir: string, source: SplitSource): string[] | undefined {
  if (source.format.endsWith("-tar")) {
    const archive = join(dir, source.files[0]);
    return exists(archive, "file") ? [archive, ...source.files.slice(1)] : undefined;
  }
  const kind = source.format === "image-folder" ? "dir" : "file";
  const paths = source.files.map((f) => join(dir, f));
  return paths.every((p) => exists(p, kind)) ? paths : undefined;
}

/** The first place holding a complete copy of the split, or undefined. */
export function findSplit(name: string, split: BaseSplit, opts: LocateOptions = {}): LocatedSplit | undefined {
  const entry = getCatalogEntry(name);
  for (const place of searchPlaces(name, opts)) {
    for (const source of entry.splits[split].sources) {
      const paths = sourcePaths(place.dir, source);
      if (paths) return { name: entry.name, split, dir: place.dir, origin: place.origin, source, paths };
    }
  }
  return undefined;
}

export class DatasetNotFoundError extends Error {
  /** Whether `download: true` (CLI --download) can fetch it: the CLI then prints the exact command to rerun. */
  readonly downloadable: boolean;
  constructor(message: string, downloadable = false) {
    super(message);
    this.name = "DatasetNotFoundError";
    this.downloadable = downloadable;
  }
}

/** The message for a missing split: every place looked at, the files expected there, and how to get them. */
export function notFoundMessage(name: string, split: BaseSplit, opts: LocateOptions = {}): string {
  const entry = getCatalogEntry(name);
  const info = entry.splits[split];
  const lines = [`Data set "${name}" (${entry.title}), split "${split}", was not found. Looked in:`];
  for (const p of searchPlaces(name, opts)) lines.push(`  ${p.dir}  (${p.origin})`);
  lines.push("expecting one of these file sets in that folder:");
  for (const s of info.sources)
    lines.push(`  ${s.format.endsWith("-tar") ? s.files[0] : s.files.join(", ")}${s.format === "image-folder" ? "/ (folder of images)" : ""}`);
  if (!opts.dataDir && !(opts.env ?? process.env)[DATA_ENV_VAR]) lines.push(`(no --data-dir given and $${DATA_ENV_VAR} is not set)`);
  if (info.downloads.length > 0) {
    lines.push(`Fetch it with download: true (CLI: --download), which saves into ${join(cacheRoot(opts), entry.name)}, or by hand from:`);
    for (const d of info.downloads) lines.push(`  ${d.url}  (md5 ${d.md5})`);
  }
  if (entry.instructions) lines.push(entry.instructions);
  return lines.join("\n");
}

export function locateSplit(name: string, split: BaseSplit, opts: LocateOptions = {}): LocatedSplit {
  const found = findSplit(name, split, opts);
  if (!found) throw new DatasetNotFoundError(notFoundMessage(name, split, opts), getCatalogEntry(name).splits[split].downloads.length > 0);
  return found;
}
