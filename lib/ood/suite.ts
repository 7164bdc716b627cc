/**
 * `oodSuite`: every OOD pair that applies to a run's data set, scored in one session (each set evaluated
 * once), and each score judged by its worst pair: a service must answer for every kind of input, so the
 * figure that matters is the pair it does worst on.
 *
 * The pairs: the data set's OOD partner in the catalog (FashionMNIST <-> MNIST, CIFAR-10 <-> SVHN, ...),
 * then the probes made from the in-distribution test images or to their shape: constant images, uniform
 * noise, grayed by 0.5, inverted (255 - x), and vertically flipped. The flipped images are semantic
 * near-OOD (the same pixel statistics upside down), which likelihood-based scores are known to miss: they
 * are reported, and kept out of the worst pair.
 */
import { CATALOG, formatClasses, isDatasetName, loadDataset, parseDatasetSplit, parseSplit, type LoadOptions } from "../data/index.js";
import { absoluteRange } from "../train/val-split.js";
import { splitSizes } from "../train/run.js";
import { aurocStandardError, type DetectionMetrics } from "./metrics.js";
import { heldOutSpecOf, pairReport, withSession, type OodOptions, type OodReport } from "./ood-scores.js";
import { DEV_PROBES } from "./sets.js";

export const SUITE_PROBES = ["constant", "uniform", "grayed:0.5", "inverted", "vflip"] as const;
/** Pairs reported but kept out of the worst pair (semantic near-OOD). */
export const NEAR_OOD = ["vflip"] as const;

export interface SuiteScore {
  /** The lowest AUROC over the pairs (near-OOD pairs aside) and the pair it is on. */
  worstAuroc: number;
  worstPair: string;
  byPair: Record<string, Pick<DetectionMetrics, "auroc" | "auprIn" | "auprOut" | "fpr95"> & { aurocSe: number }>;
}

export interface SuiteReport {
  run: string;
  model: string;
  step: number;
  in: string;
  heldOut: string;
  pairs: string[];
  /** Pairs left out of each score's worst pair. */
  nearOod: string[];
  scores: Record<string, SuiteScore>;
  /** Scores that do not apply, with the reason. */
  skipped: Record<string, string>;
  reports: OodReport[];
}

/**
 * The in-distribution test set of a run: its data set's test split, less any images the run trained or
 * validated on (an MNIST run trained on test[:5000] and validated on test[5000:7500] is tested on test[7500:]).
 */
export async function suiteInSpec(trainSpec: string, valSpec: string | undefined, data: LoadOptions = {}): Promise<string> {
  const { dataset } = parseDatasetSplit(trainSpec);
  const used = [trainSpec, ...(valSpec ? [valSpec] : [])].filter((s) => parseSplit(parseDatasetSplit(s).split).base === "test");
  const classes = parseSplit(parseDatasetSplit(trainSpec).split).classes;
  const only = classes ? `{${formatClasses(classes)}}` : ""; // the classes the model was trained on
  if (used.length === 0) return `${dataset}:test${only}`;
  const sizes = await splitSizes([`${dataset}:test`, ...used], data);
  const end = Math.max(...used.map((s) => absoluteRange(s, sizes)!.range[1]));
  if (end >= sizes(dataset, "test"))
    throw new Error(`the run trained or validated on all of ${dataset}:test up to its end: no test images are left for a suite`);
  return `${dataset}:test[${end}:]${only}`;
}

/** The OOD sets of a suite for a run trained on `dataset`. */
export function suitePairs(dataset: string): string[] {
  const partner = isDatasetName(dataset) ? CATALOG[dataset].oodPartner : undefined;
  if (!partner)
    throw new Error(
      `no OOD data set pairs with ${dataset} in the catalog, so a suite has no real pair to judge by: name the pairs yourself with --in ${dataset}:test --ood DATASET:SPLIT (or one of ${SUITE_PROBES.join(", ")})`,
    );
  return [`${partner}:test`, ...SUITE_PROBES];
}

/**
 * The development split of a validation split: its first half to fit the detectors on, its second half
 * as the in-distribution set of the development probes. Choosing a detector's design on these pairs
 * touches neither the test split nor any pair of the suite. A validation split of some classes only
 * (`train[55000:]{0-4}`, for a run trained on those classes) also gives `unseen`: the same range's
 * images of the other classes of the data set, which the model never saw: a semantic shift that
 * transformations of the in-distribution images do not make.
 */
export async function devSplits(valSpec: string, data: LoadOptions = {}): Promise<{ fit: string; in: string; unseen?: string }> {
  const sizes = await splitSizes([valSpec], data);
  const r = absoluteRange(valSpec, sizes);
  if (!r) throw new Error(`--dev: '${valSpec}' does not name a DATASET:SPLIT to halve`);
  const [a, b] = r.range;
  if (b - a < 200) throw new Error(`--dev: the validation split ${valSpec} has ${b - a} images; halving it needs at least 200`);
  const m = a + Math.floor((b - a) / 2);
  const part = (lo: number, hi: number, classes?: number[]) => `${r.dataset}:${r.base}[${lo}:${hi}]${classes ? `{${formatClasses(classes)}}` : ""}`;
  const out = { fit: part(a, m, r.classes), in: part(m, b, r.classes) };
  if (!r.classes) return out;
  const labels = (await loadDataset(r.dataset, `${r.base}[${a}:${b}]`, data)).labels ?? [];
  const others = [...new Set(labels)].filter((c) => !r.classes!.includes(c)).sort((x, y) => x - y);
  return others.length ? { ...out, unseen: part(a, b, others) } : out;
}

export async function oodSuite(o: Omit<OodOptions, "in" | "ood"> & { dev?: boolean }): Promise<SuiteReport> {
  return withSession(o, async (s) => {
    const main = s.main;
    const dataset = parseDatasetSplit(main.config.dataset).dataset;
    let pairs: string[], inSpec: string, heldOut: string;
    if (o.dev) {
      const val = o.heldOut ?? main.config.valSplit;
      if (!val) throw new Error(`--dev halves the run's validation split, and ${o.run} has none: name one with --held-out`);
      const d = await devSplits(val, o.data);
      pairs = [...DEV_PROBES, ...(d.unseen ? [d.unseen] : [])];
      inSpec = d.in;
      heldOut = await heldOutSpecOf({ ...o, heldOut: d.fit }, main, [inSpec]);
    } else {
      pairs = suitePairs(dataset);
      inSpec = await suiteInSpec(main.config.dataset, o.heldOut ?? main.config.valSplit, o.data);
      heldOut = await heldOutSpecOf(o, main, [inSpec, ...pairs]);
    }
    const reports: OodReport[] = [];
    for (const ood of pairs) {
      if (!(o.quiet ?? false)) process.stderr.write(`ood suite: ${inSpec} vs ${ood}\n`);
      reports.push(await pairReport(s, inSpec, ood, heldOut));
    }
    const scores: Record<string, SuiteScore> = {};
    for (const name of Object.keys(reports[0]!.scores)) {
      const byPair: SuiteScore["byPair"] = {};
      for (const r of reports) {
        const m = r.scores[name as keyof OodReport["scores"]]!;
        const each = r.perExample[name as keyof OodReport["perExample"]]!;
        byPair[r.ood] = { auroc: m.auroc, auprIn: m.auprIn, auprOut: m.auprOut, fpr95: m.fpr95, aurocSe: aurocStandardError(each.in, each.ood) };
      }
      const judged = pairs.filter((p) => !(NEAR_OOD as readonly string[]).includes(p));
      const worstPair = judged.reduce((w, p) => (byPair[p]!.auroc < byPair[w]!.auroc ? p : w));
      scores[name] = { worstAuroc: byPair[worstPair]!.auroc, worstPair, byPair };
    }
    return {
      run: o.run,
      model: main.config.kind,
      step: main.step,
      in: inSpec,
      heldOut,
      pairs,
      nearOod: [...NEAR_OOD],
      scores,
      skipped: reports[0]!.skipped as Record<string, string>,
      reports,
    };
  });
}

/** The matrix: scores as rows, pairs as columns, then the worst pair with its standard error; AUROC (FPR95). */
export function formatSuite(r: SuiteReport): string {
  const cell = (m: { auroc: number; fpr95: number }) => `${m.auroc.toFixed(3)} (${m.fpr95.toFixed(2)})`;
  const head = ["score", ...r.pairs.map((p) => ((r.nearOod as string[]).includes(p) ? `${p}*` : p)), "worst pair"];
  const rows = Object.entries(r.scores).map(([name, s]) => [
    name,
    ...r.pairs.map((p) => cell(s.byPair[p]!)),
    `${s.worstAuroc.toFixed(3)} +- ${s.byPair[s.worstPair]!.aurocSe.toFixed(3)} (${s.worstPair})`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [
    `${r.model} run ${r.run} (step ${r.step}): in ${r.in}, held-out (fitted on) ${r.heldOut}`,
    "AUROC (FPR at 95% TPR); OOD is the positive class. * near-OOD: reported, not counted in the worst pair.",
    "The worst pair's AUROC has its standard error (DeLong): worst pairs a few of them apart differ by more than sampling.",
    line(head),
    ...rows.map(line),
    ...Object.entries(r.skipped).map(([name, why]) => `${name}: not computed: ${why}`),
  ].join("\n");
}
