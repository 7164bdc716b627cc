/**
 * Split strings: `train`, `test`, or a Python-slice-like range of one, to carve held-out parts
 * out of an official split:
 *   train[:50000]   the first 50000 training images
 *   train[50000:]   the training images from index 50000 on
 *   test[1000:2000] test images 1000..1999
 *   test[-5000:]    the last 5000 test images (negative indices count from the end, as in Python)
 *   train[:55000]{0-4}  of those, only the images of classes 0 to 4 (labels; a list such as {0,2,7} too):
 *                   a model trained on some classes meets the others as a semantic shift (`ood --dev`)
 * Unlike Python, a bound beyond the split's size is an error rather than silently clamped, and an
 * empty range is an error: both are almost always mistakes in an experiment's configuration.
 */
import type { BaseSplit } from "./catalog.js";

export interface SplitSpec {
  base: BaseSplit;
  start?: number;
  end?: number;
  /** Only the images whose label is one of these classes (ascending, no repeats). */
  classes?: number[];
}

const SPLIT_RE = /^(train|test)(?:\[\s*(-?\d+)?\s*:\s*(-?\d+)?\s*\])?(?:\{([^}]*)\})?$/;

export function parseSplit(split: string): SplitSpec {
  const m = SPLIT_RE.exec(split.trim());
  if (!m) {
    throw new Error(
      `Bad split "${split}": expected train, test, or a range such as train[:50000], train[50000:], test[:5000], test[5000:], test[-1000:], optionally followed by classes such as {0-4} or {0,2,7}.`,
    );
  }
  const spec: SplitSpec = { base: m[1] as BaseSplit };
  if (m[2] !== undefined) spec.start = Number(m[2]);
  if (m[3] !== undefined) spec.end = Number(m[3]);
  if (m[4] !== undefined) spec.classes = parseClasses(m[4], split);
  return spec;
}

/** "0-4,7" -> [0, 1, 2, 3, 4, 7]. */
function parseClasses(text: string, split: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const lo = m ? Number(m[1]) : NaN,
      hi = m?.[2] !== undefined ? Number(m[2]) : lo;
    if (!m || hi < lo || hi > 65535) throw new Error(`Bad classes "{${text}}" in split "${split}": expected class labels and ranges such as {0-4} or {0,2,7}.`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** [0, 1, 2, 3, 4, 7] -> "0-4,7". */
export function formatClasses(classes: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < classes.length;) {
    let j = i;
    while (j + 1 < classes.length && classes[j + 1] === classes[j]! + 1) j++;
    runs.push(j > i ? `${classes[i]}-${classes[j]}` : `${classes[i]}`);
    i = j + 1;
  }
  return runs.join(",");
}

/** The concrete [start, end) of a split spec over a split of n images. */
export function resolveRange(spec: SplitSpec, n: number, label: string = spec.base): [number, number] {
  const fix = (i: number | undefined, dflt: number): number => {
    if (i === undefined) return dflt;
    if (i > n || i < -n) throw new Error(`Split "${label}" has ${n} images; index ${i} is out of range.`);
    return i < 0 ? n + i : i;
  };
  const start = fix(spec.start, 0);
  const end = fix(spec.end, n);
  if (end <= start) throw new Error(`Split range [${spec.start ?? ""}:${spec.end ?? ""}] of "${label}" (${n} images) selects no images.`);
  return [start, end];
}

export function formatSplit(spec: SplitSpec): string {
  const range = spec.start === undefined && spec.end === undefined ? spec.base : `${spec.base}[${spec.start ?? ""}:${spec.end ?? ""}]`;
  return spec.classes ? `${range}{${formatClasses(spec.classes)}}` : range;
}

/**
 * A split of a named data set, as the command line and config.json write it: "mnist:test[:5000]".
 * The one form every run, evaluation and analysis names its data by.
 */
export interface DatasetSplit {
  dataset: string;
  /** A split string of that data set: train, test or a range of one (see parseSplit). */
  split: string;
}

export function parseDatasetSplit(spec: string): DatasetSplit {
  const i = spec.indexOf(":");
  if (i < 1) throw new Error(`bad split '${spec}': expected DATASET:SPLIT, e.g. mnist:test or fashion-mnist:train`);
  return { dataset: spec.slice(0, i), split: spec.slice(i + 1) };
}

export const formatDatasetSplit = (s: DatasetSplit): string => `${s.dataset}:${s.split}`;
