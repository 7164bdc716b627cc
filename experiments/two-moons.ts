// Figure 7 and appendix D: small flows on two moons replicated to D dimensions ((a, b) -> (a, b, a, b,
// ...)), tracking the two terms of log p(x) = log p(z) + log|det| as D grows, with exp and with sigmoid
// coupling scales, against these bounds (as this project reads the paper's Equations 7-9):
//   (7) log p(z) <= -(D/2) log(2 pi)                  a standard normal's density peaks at z = 0;
//   (8) E[log p(z)] = -(D/2) log(2 pi e)              when the codes are distributed as the prior;
//   (9) sigmoid scales: each coupling's log-det <= 0, so a flow of only such couplings (the RealNVP-style
//       one here) has log p(x) <= -(D/2) log(2 pi); exp scales have no such bound.
// The replicated data lie on a 2-D manifold, so a flow can raise log p(x) without limit by contracting
// the copies: the log-det term is where that shows. CPU-cheap: MLP couplings, a few hundred steps.
import * as torch from "../lib/tensor/index.js";
import type { Tensor } from "../lib/tensor/index.js";
import { Module } from "../lib/nn/index.js";
import {
  ActNorm,
  FlowLayerList,
  InvertibleConv1x1,
  VectorCoupling,
  changeOfVariables,
  standardNormalLogProb,
  type CouplingScale,
} from "../lib/models/flows/index.js";
import { Adam } from "../lib/optim/index.js";
import { trainStep } from "../lib/train/step.js";
import { twoMoons } from "../lib/data/index.js";
import { type Analysis, type AnalysisConfig, emptyAnalysis, round } from "./common.js";
import { lineSpec } from "../lib/viz/plot.js";

export type MoonScale = CouplingScale;
export type MoonStyle = "realnvp" | "glow";

/**
 * A vector flow: K couplings with alternating masks (RealNVP style) or ActNorm -> 1x1 convolution ->
 * coupling (Glow style), one chain of layers. The D features travel as [N, D, 1, 1], the layers' shape.
 */
export class MoonFlow extends Module {
  readonly layers: FlowLayerList;
  constructor(
    readonly dims: number,
    o: { steps: number; hidden: number; scale: MoonScale; style: MoonStyle },
  ) {
    super();
    this.layers = this.module("layers", new FlowLayerList());
    for (let k = 0; k < o.steps; k++) {
      if (o.style === "glow") this.layers.push(new ActNorm(dims)).push(new InvertibleConv1x1(dims));
      this.layers.push(new VectorCoupling(dims, (k % 2) as 0 | 1, o.hidden, o.scale));
    }
  }
  /** x [N, D] -> log p(z), log-det and log p(x) (each [N]; see changeOfVariables for where they are -Infinity). */
  terms(x: Tensor): { logPz: Tensor; logDet: Tensor; logPx: Tensor } {
    const n = x.shape[0]!;
    const [z, logDet] = this.layers.forward(x.view(n, this.dims, 1, 1));
    return { ...changeOfVariables(x, standardNormalLogProb(z.view(n, this.dims)), logDet), logDet };
  }
}

export interface TwoMoonsConfig extends AnalysisConfig {
  dims?: number[];
  scales?: MoonScale[];
  styles?: MoonStyle[];
  trainSteps?: number;
  flowSteps?: number;
  hidden?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  /** Record the terms every this many steps. */
  every?: number;
}

export interface MoonTrace {
  step: number;
  logPz: number;
  logDet: number;
}
export interface MoonRun {
  dims: number;
  scale: MoonScale;
  style: MoonStyle;
  /** On 1000 held-out points after training. */
  logPz: number;
  logDet: number;
  logPx: number;
  /** Bounds (7) and (8) for this D. */
  logPzBound: number;
  logPzAtPrior: number;
  trace: MoonTrace[];
  finite: boolean;
}

const LOG2PI = Math.log(2 * Math.PI);

export function trainMoonFlow(dims: number, scale: MoonScale, style: MoonStyle, c: TwoMoonsConfig = {}): MoonRun {
  const steps = c.trainSteps ?? 200,
    every = c.every ?? 25,
    batch = c.batch ?? 128;
  torch.manualSeed(c.seed ?? 0);
  const flow = new MoonFlow(dims, { steps: c.flowSteps ?? 4, hidden: c.hidden ?? 32, scale, style });
  const opt = new Adam(flow.parameters(), { lr: c.lr ?? 1e-3 });
  const data = twoMoons({ n: steps * batch, dims, seed: (c.seed ?? 0) + dims });
  const test = torch.tensor(twoMoons({ n: 1000, dims, seed: 10_000 + dims }), { shape: [1000, dims] }).keep();
  const trace: MoonTrace[] = [];
  const measure = (): { logPz: number; logDet: number } =>
    torch.tidy(() =>
      torch.noGrad(() => {
        flow.train(false);
        const t = flow.terms(test);
        flow.train(true);
        return { logPz: t.logPz.mean().item(), logDet: t.logDet.mean().item() };
      }),
    );
  try {
    for (let s = 1; s <= steps; s++) {
      torch.tidy(() => {
        const x = torch.tensor(data.subarray((s - 1) * batch * dims, s * batch * dims), { shape: [batch, dims] });
        // The loss in nats per example, clipped at a norm of 100, as these flows have always trained.
        trainStep({ imageShape: [dims], objective: (v) => flow.terms(v), parameters: () => flow.parameters() }, opt, x, { lossUnit: "nats", clipNorm: 100 });
      });
      if (s % every === 0 || s === steps) trace.push({ step: s, ...measure() });
    }
    const last = trace[trace.length - 1]!;
    return {
      dims,
      scale,
      style,
      logPz: last.logPz,
      logDet: last.logDet,
      logPx: last.logPz + last.logDet,
      logPzBound: -(dims / 2) * LOG2PI,
      logPzAtPrior: -(dims / 2) * (LOG2PI + 1),
      trace,
      finite: Number.isFinite(last.logPz + last.logDet),
    };
  } finally {
    test.dispose();
    torch.dispose(opt.stateDict().tensors);
    flow.dispose();
  }
}

export async function twoMoonsExperiment(cfg: TwoMoonsConfig): Promise<Analysis<{ runs: MoonRun[] }>> {
  const dimsList = cfg.dims ?? [2, 10, 50, 100];
  const runs: MoonRun[] = [];
  for (const style of cfg.styles ?? (["realnvp", "glow"] as MoonStyle[]))
    for (const scale of cfg.scales ?? (["exp", "sigmoid"] as MoonScale[]))
      for (const d of dimsList) {
        const t0 = Date.now();
        runs.push(trainMoonFlow(d, scale, style, cfg));
        const r = runs[runs.length - 1]!;
        cfg.log?.(
          `  two moons D=${d} ${style} ${scale}: log p(z) ${r.logPz.toFixed(1)}, log-det ${r.logDet.toFixed(1)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
        );
      }
  const a = emptyAnalysis({ runs });
  const label = (r: MoonRun) => `${r.style}, ${r.scale}`;
  const bound7 = runs.every((r) => !r.finite || r.logPz <= r.logPzBound + 1e-6);
  a.verdicts.push({
    claim: "Equation 7: log p(z) never exceeds -(D/2) log 2 pi",
    matchesPaper: bound7,
    sentence: bound7 ? "Every run's mean log p(z) is below the bound, as it must be." : "A run's mean log p(z) exceeds the bound: a numerical problem.",
  });
  const sig = runs.filter((r) => r.scale === "sigmoid" && r.style === "realnvp");
  const bound9 = sig.every((r) => r.logDet <= 1e-4);
  if (sig.length)
    a.verdicts.push({
      claim: "Equation 9: with sigmoid scales the couplings' log-det is <= 0",
      matchesPaper: bound9,
      sentence: `RealNVP-style sigmoid flows: log-det ${sig.map((r) => `${r.logDet.toFixed(1)} (D=${r.dims})`).join(", ")}${bound9 ? "" : " - unlike the bound"}.`,
    });
  const exp = runs.filter((r) => r.scale === "exp" && r.style === "realnvp").sort((p, q) => p.dims - q.dims);
  if (exp.length > 1) {
    const grows = exp[exp.length - 1]!.logDet > exp[0]!.logDet;
    a.verdicts.push({
      claim: "Appendix D: with exp scales the log-det grows with D (the flow contracts the replicated dimensions) while log p(z) falls",
      matchesPaper: grows,
      sentence: `${grows ? "" : "Unlike the paper, "}RealNVP-style exp flows: log-det ${exp.map((r) => `${r.logDet.toFixed(1)} (D=${r.dims})`).join(", ")}; log p(z) ${exp.map((r) => r.logPz.toFixed(1)).join(", ")}.`,
    });
  }
  a.tables.push({
    title: "Two moons replicated to D dims: held-out means after training (nats)",
    columns: ["style", "scale", "D", "log p(z)", "bound (7)", "prior value (8)", "log-det", "log p(x)"],
    rows: runs.map((r) => [
      r.style,
      r.scale,
      r.dims,
      round(r.logPz, 2),
      round(r.logPzBound, 2),
      round(r.logPzAtPrior, 2),
      round(r.logDet, 2),
      round(r.logPx, 2),
    ]),
  });
  const pts = (f: (r: MoonRun) => number) => runs.map((r) => ({ series: label(r), x: r.dims, y: f(r) }));
  const dimsSorted = [...new Set(runs.map((r) => r.dims))].sort((p, q) => p - q);
  a.plots.push({
    name: "two-moons-logpz",
    title: "Figure 7: log p(z) per dimension vs D",
    caption: "Held-out mean log p(z)/D; the bounds of Eqs. 7 and 8 as lines.",
    spec: lineSpec(
      [
        ...pts((r) => r.logPz / r.dims),
        ...dimsSorted.map((d) => ({ series: "bound (7): -log(2pi)/2", x: d, y: -LOG2PI / 2 })),
        ...dimsSorted.map((d) => ({ series: "prior value (8): -log(2pi e)/2", x: d, y: -(LOG2PI + 1) / 2 })),
      ],
      { title: "log p(z) / D", xTitle: "D", yTitle: "nats per dimension", xScale: "log" },
    ),
  });
  a.plots.push({
    name: "two-moons-logdet",
    title: "Figure 7: log-det per dimension vs D",
    caption: "Held-out mean log|det|/D; sigmoid scales keep the couplings' share <= 0 (Eq. 9).",
    spec: lineSpec([...pts((r) => r.logDet / r.dims), ...dimsSorted.map((d) => ({ series: "bound (9), sigmoid couplings: 0", x: d, y: 0 }))], {
      title: "log-det / D",
      xTitle: "D",
      yTitle: "nats per dimension",
      xScale: "log",
    }),
  });
  const maxD = dimsSorted[dimsSorted.length - 1]!;
  a.plots.push({
    name: "two-moons-trace",
    title: `log p(z) and log-det during training, D = ${maxD}`,
    caption: "Held-out means every few steps.",
    spec: lineSpec(
      runs
        .filter((r) => r.dims === maxD)
        .flatMap((r) =>
          r.trace.flatMap((t) => [
            { series: `${label(r)}: log p(z)`, x: t.step, y: t.logPz },
            { series: `${label(r)}: log-det`, x: t.step, y: t.logDet },
          ]),
        ),
      { title: `D = ${maxD}`, xTitle: "training step", yTitle: "nats" },
    ),
  });
  return a;
}
