// The validation split: images of the training data set that the model never trains on. OOD detectors
// are fitted on it (thresholds, typicality's bootstrap, the combined detector), never on the training
// data, whose likelihoods the model has overfitted, and never on any test or OOD set.
//
// Rule: unless `train --val-split` names one, the last 5,000 images of the training split are held out
// (the last tenth when the split has fewer than 50,000), so FashionMNIST trains on train[:55000] and
// validates on train[55000:]. The paper's bits/dim tables stay comparable: their test columns are the
// same official test splits, and the train column is the official train split, 92% of it trained on.
import { parseDatasetSplit, parseSplit, resolveRange, formatSplit, type SplitSpec } from "../data/index.js";

export const VALIDATION_IMAGES = 5000;

/** How many of n training images the default rule holds out. */
export const validationSize = (n: number): number => (n >= 10 * VALIDATION_IMAGES ? VALIDATION_IMAGES : Math.ceil(n / 10));

/**
 * Carves the default validation split from the end of a training split of n images
 * ("fashion-mnist:train", 60000 -> train[:-5000] and train[-5000:]), in the split's own index form.
 */
export function carveValidation(trainSpec: string, n: number): { train: string; val: string } {
  const { dataset, split } = parseDatasetSplit(trainSpec);
  const s = parseSplit(split);
  const k = validationSize(n);
  if (n - k < 1) throw new Error(`${trainSpec} has ${n} images: too few to hold out a validation split; name one with --val-split`);
  const end = s.end; // undefined: the end of the split; negative: counted from it
  const cut = end === undefined ? -k : end - k;
  if (end !== undefined && end > 0 && cut <= (s.start ?? 0)) throw new Error(`${trainSpec}: too few images to hold out ${k}`);
  const trainPart: SplitSpec = { ...s, end: cut };
  const valPart: SplitSpec = { base: s.base, start: cut, ...(end !== undefined ? { end } : {}), ...(s.classes ? { classes: s.classes } : {}) };
  return { train: `${dataset}:${formatSplit(trainPart)}`, val: `${dataset}:${formatSplit(valPart)}` };
}

/**
 * The absolute [start, end) of a DATASET:SPLIT spec, and the classes it keeps (undefined: all), given the
 * size of each official split; null for what is not a catalog split (a synthetic probe).
 */
export function absoluteRange(
  spec: string,
  sizeOf: (dataset: string, base: string) => number,
): { dataset: string; base: string; range: [number, number]; classes?: number[] } | null {
  if (!namesDatasetSplit(spec)) return null;
  const { dataset, split } = parseDatasetSplit(spec);
  const s = parseSplit(split);
  return { dataset, base: s.base, range: resolveRange(s, sizeOf(dataset, s.base), `${dataset} ${s.base}`), ...(s.classes ? { classes: s.classes } : {}) };
}

/** "mnist:test[5000:]" names a data set's split; "test[5000:]", "grayed:0.5" and "folder:train/x" do not. */
export const namesDatasetSplit = (spec: string): boolean => /^(?!folder:)[A-Za-z0-9_-]+:\s*(train|test)\b/.test(spec.trim());

/** Whether two DATASET:SPLIT specs share an image (same data set and split, overlapping ranges, a class in common). */
export function splitsOverlap(a: string, b: string, sizeOf: (dataset: string, base: string) => number): boolean {
  const ra = absoluteRange(a, sizeOf),
    rb = absoluteRange(b, sizeOf);
  if (!ra || !rb || ra.dataset !== rb.dataset || ra.base !== rb.base) return false;
  const sharedClass = !ra.classes || !rb.classes || ra.classes.some((c) => rb.classes!.includes(c));
  return sharedClass && ra.range[0] < rb.range[1] && rb.range[0] < ra.range[1];
}
