// Plots of the analyses: Vega-Lite specs (a well-kept grammar-of-graphics library), compiled with
// `vega-lite` and rendered to SVG in Node with `vega` (no browser, no canvas). The helpers build the
// few chart kinds the paper's figures use: overlaid histograms, lines, grouped bars, scatter.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export type VegaLiteSpec = TopLevelSpec;

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface Histogram {
  /** Bin edges, bins + 1 values. */
  edges: number[];
  counts: number[];
  /** Values that were not finite (left out). */
  dropped: number;
}

/**
 * Counts of values in equal-width bins over [min, max] (default: the data's range). Bin i holds
 * edges[i] <= v < edges[i+1]; the last bin also holds v == max. Values outside [min, max] are clamped
 * into the first or last bin, so every finite value is counted once.
 */
export function histogram(values: ArrayLike<number>, o: { bins?: number; min?: number; max?: number } = {}): Histogram {
  const bins = o.bins ?? 40;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`histogram: bins must be a positive integer, got ${bins}`);
  let lo = o.min ?? Infinity,
    hi = o.max ?? -Infinity,
    dropped = 0;
  if (o.min === undefined || o.max === undefined) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) continue;
      if (o.min === undefined && v < lo) lo = v;
      if (o.max === undefined && v > hi) hi = v;
    }
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  edges[bins] = hi;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      dropped++;
      continue;
    }
    const b = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)));
    counts[b]!++;
  }
  return { edges, counts, dropped };
}

/** The range [min, max] of the finite values of several arrays together. */
export function rangeOf(...arrays: ArrayLike<number>[]): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (const a of arrays)
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
}

/** The paper's colours: training data black, test blue, out-of-distribution red. */
export const SPLIT_COLORS = { train: "#000000", test: "#1f5fd6", ood: "#d62728" } as const;
const PALETTE = ["#1f5fd6", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

export interface HistogramSeries {
  name: string;
  values: ArrayLike<number>;
  color?: string;
}

const base = (title: string, width: number, height: number) =>
  ({ $schema: "https://vega.github.io/schema/vega-lite/v6.json", title, width, height, background: "white" }) as const;

/**
 * Overlaid, normalised histograms (density per bin) on shared bins, one colour per series, as the
 * paper's Figures 2, 3, 4 and 6.
 */
export function histogramSpec(
  series: HistogramSeries[],
  o: { title: string; xTitle: string; bins?: number; width?: number; height?: number; range?: [number, number] },
): VegaLiteSpec {
  const [lo, hi] = o.range ?? rangeOf(...series.map((s) => s.values));
  const rows: { series: string; x0: number; x1: number; density: number }[] = [];
  for (const s of series) {
    const h = histogram(s.values, { bins: o.bins ?? 40, min: lo, max: hi });
    const n = h.counts.reduce((a, b) => a + b, 0) || 1;
    h.counts.forEach((c, i) => rows.push({ series: s.name, x0: h.edges[i]!, x1: h.edges[i + 1]!, density: c / n / (h.edges[i + 1]! - h.edges[i]!) }));
  }
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  return {
    ...base(o.title, o.width ?? 420, o.height ?? 240),
    data: { values: rows },
    mark: { type: "rect", opacity: 0.45, stroke: null },
    encoding: {
      x: { field: "x0", type: "quantitative", title: o.xTitle, scale: { zero: false } },
      x2: { field: "x1" },
      y: { field: "density", type: "quantitative", title: "density" },
      y2: { datum: 0 },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain: series.map((s) => s.name), range: colors },
        legend: { orient: "top", labelLimit: 360, columns: 2 },
      },
    },
  } as VegaLiteSpec;
}

export interface LinePoint {
  series: string;
  x: number;
  y: number;
}

/** Lines with points, one per series. */
export function lineSpec(
  points: LinePoint[],
  o: {
    title: string;
    xTitle: string;
    yTitle: string;
    colors?: Record<string, string>;
    width?: number;
    height?: number;
    xScale?: "linear" | "log";
    reverseX?: boolean;
  },
): VegaLiteSpec {
  const names = [...new Set(points.map((p) => p.series))];
  return {
    ...base(o.title, o.width ?? 420, o.height ?? 240),
    data: { values: points },
    mark: { type: "line", point: true },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: o.xTitle,
        scale: o.xScale === "log" ? { type: "log", reverse: o.reverseX ?? false } : { zero: false, reverse: o.reverseX ?? false },
      },
      y: { field: "y", type: "quantitative", title: o.yTitle, scale: { zero: false } },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        legend: { orient: "top", labelLimit: 360, columns: 2 },
        scale: { domain: names, range: names.map((n, i) => o.colors?.[n] ?? PALETTE[i % PALETTE.length]!) },
      },
    },
  } as VegaLiteSpec;
}

export interface BarRow {
  group: string;
  series: string;
  value: number;
}

/** Grouped bars: one group per `group`, one bar per `series` in it. */
export function groupedBarSpec(
  rows: BarRow[],
  o: { title: string; yTitle: string; colors?: Record<string, string>; width?: number; height?: number; yScale?: "linear" | "symlog" },
): VegaLiteSpec {
  const names = [...new Set(rows.map((r) => r.series))];
  return {
    ...base(o.title, o.width ?? 120, o.height ?? 220),
    data: { values: rows },
    mark: "bar",
    encoding: {
      column: { field: "group", type: "nominal", title: null },
      x: { field: "series", type: "nominal", title: null, axis: { labelAngle: -40 }, sort: names },
      y: { field: "value", type: "quantitative", title: o.yTitle, scale: { type: o.yScale ?? "linear" } },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        legend: null,
        scale: { domain: names, range: names.map((n, i) => o.colors?.[n] ?? PALETTE[i % PALETTE.length]!) },
      },
    },
  } as VegaLiteSpec;
}
