// Figure 13: sample grids of each trained model.
import * as torch from "../lib/tensor/index.js";
import { imageGridPng } from "../lib/viz/grid.js";
import { modelDescriptor } from "../lib/models/registry.js";
import { type Analysis, type AnalysisConfig, emptyAnalysis, runsOf, withRuns } from "./common.js";

export type SamplesConfig = AnalysisConfig & { n?: number; temperatures?: number[]; seed?: number };
export interface SampleGrid {
  run: string;
  kind: string;
  step: number;
  temperature: number;
  n: number;
  file: string;
}

export async function samples(cfg: SamplesConfig): Promise<Analysis<{ grids: SampleGrid[] }>> {
  const n = cfg.n ?? 64;
  const plots: { name: string; title: string; caption: string; png: Buffer }[] = [];
  const grids = (
    await withRuns(runsOf(cfg), cfg, async (run, info) => {
      const isFlow = modelDescriptor(info.kind).isFlow;
      const temps = isFlow ? (cfg.temperatures ?? [1, 0.7]) : [1];
      return temps.map((t) => {
        torch.manualSeed(cfg.seed ?? 0);
        const png = torch.tidy(() => imageGridPng(run.model.sample(n, { temperature: t }).cpu(), 8, 1));
        const name = `samples-${info.name}-t${t}`;
        plots.push({ name, title: `${info.name} (${info.kind}, step ${run.step}), temperature ${t}`, caption: `${n} samples.`, png });
        return { run: info.name, kind: info.kind, step: run.step, temperature: t, n, file: `${name}.png` };
      });
    })
  ).flat();
  const a = emptyAnalysis({ grids });
  a.plots.push(...plots);
  a.notes.push("Samples are shown as they are; the paper's Figure 13 is qualitative, so there is no claim to check.");
  return a;
}
