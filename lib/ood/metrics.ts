/**
 * Detection metrics for out-of-distribution scores. Convention everywhere in lib/ood: a score is larger
 * for inputs that look more out-of-distribution, and OOD is the positive class. Ties are exact: inputs
 * with equal scores are one threshold, never split by the order they came in.
 *
 * - AUROC: the probability that a random OOD input scores above a random in-distribution one, ties
 *   counting one half (the Mann-Whitney U statistic; equals the area under the ROC curve through every
 *   distinct threshold).
 * - AUPR-out: average precision with OOD as the positive class (score as is); AUPR-in: with
 *   in-distribution as positive (score negated). Average precision is sum_k (R_k - R_{k-1}) P_k over the
 *   distinct thresholds, as scikit-learn's average_precision_score (no interpolation).
 * - FPR95: the fraction of in-distribution inputs flagged OOD at the largest threshold that flags at
 *   least 95% of the OOD inputs (score >= threshold means OOD).
 */

export interface DetectionMetrics {
  auroc: number;
  auprIn: number;
  auprOut: number;
  fpr95: number;
}

/**
 * Checks a score array: non-empty, no NaN (it has no place in an order, so every metric would be
 * meaningless). Infinity is allowed: a flow gives log p(x) = -Infinity far from its data, which is the
 * most OOD score there is.
 */
export function checkScores(name: string, scores: ArrayLike<number>): void {
  if (scores.length === 0) throw new RangeError(`${name}: no scores (an empty data set?)`);
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i]) || typeof scores[i] !== "number") {
      throw new RangeError(`${name}: score ${i} is ${scores[i]}; a score must be a number (the model gave a NaN likelihood?)`);
    }
  }
}

/** One point per distinct threshold, from the highest score down: counts of OOD and in-distribution at or above it. */
interface Curve {
  tp: Float64Array;
  fp: Float64Array;
  nPos: number;
  nNeg: number;
}

function curve(inScores: ArrayLike<number>, oodScores: ArrayLike<number>, sign: 1 | -1, positive: "in" | "ood"): Curve {
  const n = inScores.length + oodScores.length;
  const v = new Float64Array(n),
    isPos = new Uint8Array(n);
  for (let i = 0; i < inScores.length; i++) {
    v[i] = sign * inScores[i]!;
    isPos[i] = positive === "in" ? 1 : 0;
  }
  for (let j = 0; j < oodScores.length; j++) {
    v[inScores.length + j] = sign * oodScores[j]!;
    isPos[inScores.length + j] = positive === "ood" ? 1 : 0;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (v[a] === v[b] ? 0 : v[b]! > v[a]! ? 1 : -1));
  const tp: number[] = [],
    fp: number[] = [];
  let t = 0,
    f = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (isPos[i]) t++;
    else f++;
    // A threshold ends only where the next score differs: tied scores are one step.
    if (k === n - 1 || v[order[k + 1]!] !== v[i]) {
      tp.push(t);
      fp.push(f);
    }
  }
  const nPos = positive === "ood" ? oodScores.length : inScores.length;
  return { tp: Float64Array.from(tp), fp: Float64Array.from(fp), nPos, nNeg: n - nPos };
}

function averagePrecision(c: Curve): number {
  let ap = 0,
    prevRecall = 0;
  for (let k = 0; k < c.tp.length; k++) {
    const recall = c.tp[k]! / c.nPos,
      precision = c.tp[k]! / (c.tp[k]! + c.fp[k]!);
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
  }
  return ap;
}

function areaUnderRoc(c: Curve): number {
  // Trapezoids between consecutive thresholds: exactly the Mann-Whitney U with ties as one half.
  let area = 0,
    x0 = 0,
    y0 = 0;
  for (let k = 0; k < c.tp.length; k++) {
    const x = c.fp[k]! / c.nNeg,
      y = c.tp[k]! / c.nPos;
    area += ((x - x0) * (y + y0)) / 2;
    x0 = x;
    y0 = y;
  }
  return area;
}

function fprAtTpr(c: Curve, tpr: number): number {
  for (let k = 0; k < c.tp.length; k++) if (c.tp[k]! / c.nPos >= tpr) return c.fp[k]! / c.nNeg;
  return 1;
}

/** AUROC, AUPR-in, AUPR-out and FPR at 95% TPR of one score (OOD = positive, larger = more OOD). */
export function detectionMetrics(inScores: ArrayLike<number>, oodScores: ArrayLike<number>): DetectionMetrics {
  checkScores("in-distribution scores", inScores);
  checkScores("OOD scores", oodScores);
  const out = curve(inScores, oodScores, 1, "ood");
  return {
    auroc: areaUnderRoc(out),
    auprIn: averagePrecision(curve(inScores, oodScores, -1, "in")),
    auprOut: averagePrecision(out),
    fpr95: fprAtTpr(out, 0.95),
  };
}

/**
 * The standard error of the AUROC (DeLong, DeLong and Clarke-Pearson 1988): from each input's placement,
 * the fraction of the other class it beats (ties one half), Var = var(OOD placements) / n_ood +
 * var(in placements) / n_in. What tells a worst pair of 0.936 from one of 0.957 as more than sampling:
 * differences of a few standard errors are not noise.
 */
export function aurocStandardError(inScores: ArrayLike<number>, oodScores: ArrayLike<number>): number {
  checkScores("in-distribution scores", inScores);
  checkScores("OOD scores", oodScores);
  const m = inScores.length,
    n = oodScores.length;
  if (m < 2 || n < 2) return NaN; // a variance needs two of each
  const all = Float64Array.from([...Array.from(inScores), ...Array.from(oodScores)]);
  const rankAll = midranks(all),
    rankIn = midranks(Float64Array.from(inScores)),
    rankOod = midranks(Float64Array.from(oodScores));
  // An OOD input's placement: in-distribution inputs below it (ties one half), over m; an in-distribution
  // input's: OOD inputs above it, over n.
  const ood = Float64Array.from({ length: n }, (_, j) => (rankAll[m + j]! - rankOod[j]!) / m);
  const inn = Float64Array.from({ length: m }, (_, i) => 1 - (rankAll[i]! - rankIn[i]!) / n);
  return Math.sqrt(moments(ood).sd ** 2 / n + moments(inn).sd ** 2 / m);
}

/** 1-based ranks, ties given their mean rank. */
function midranks(v: Float64Array): Float64Array {
  const order = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => (v[a] === v[b] ? 0 : v[a]! < v[b]! ? -1 : 1));
  const out = new Float64Array(v.length);
  for (let k = 0; k < order.length;) {
    let e = k;
    while (e + 1 < order.length && v[order[e + 1]!] === v[order[k]!]) e++;
    for (let t = k; t <= e; t++) out[order[t]!] = (k + e) / 2 + 1;
    k = e + 1;
  }
  return out;
}

/** Mean and sample standard deviation of `col`, over the given rows (default: all of it). */
export function moments(col: ArrayLike<number>, rows?: readonly number[]): { m: number; sd: number } {
  const n = rows ? rows.length : col.length;
  const at = (k: number) => col[rows ? rows[k]! : k]!;
  let m = 0;
  for (let k = 0; k < n; k++) m += at(k);
  m /= n;
  let v = 0;
  for (let k = 0; k < n; k++) v += (at(k) - m) ** 2;
  return { m, sd: Math.sqrt(v / (n - 1)) };
}

/** The ROC curve's points (FPR, TPR), from (0, 0) to (1, 1), one per distinct threshold: for plots. */
export function rocCurve(inScores: ArrayLike<number>, oodScores: ArrayLike<number>): { fpr: number[]; tpr: number[]; threshold: number[] } {
  checkScores("in-distribution scores", inScores);
  checkScores("OOD scores", oodScores);
  const c = curve(inScores, oodScores, 1, "ood");
  const all = [...Array.from(inScores), ...Array.from(oodScores)].sort((a, b) => (a === b ? 0 : b > a ? 1 : -1));
  const thresholds = all.filter((s, i) => i === 0 || s !== all[i - 1]);
  return {
    fpr: [0, ...Array.from(c.fp, (f) => f / c.nNeg)],
    tpr: [0, ...Array.from(c.tp, (t) => t / c.nPos)],
    threshold: [Infinity, ...thresholds],
  };
}

/**
 * The threshold a service would use: the score below which a fraction `tpr` (default 95%) of held-out
 * in-distribution inputs fall, so that flagging `score > threshold` as OOD keeps that fraction of
 * in-distribution inputs. (The 95% quantile, the smallest score with at least 95% at or below it.)
 */
export function inDistributionThreshold(heldOutScores: ArrayLike<number>, tpr = 0.95): number {
  checkScores("held-out in-distribution scores", heldOutScores);
  if (!(tpr > 0 && tpr <= 1)) throw new RangeError(`tpr must be in (0, 1], got ${tpr}`);
  const s = Float64Array.from(heldOutScores).sort();
  return s[Math.max(0, Math.ceil(tpr * s.length) - 1)]!;
}
