// Checkpoints and values of the flows must not move when their code is reorganised: the state-dict
// names, shapes and dtypes of every flow preset (exact), and the values of seeded tiny models (log p(x)
// and its terms in training and evaluation, gradients, codes, inversion, samples, the two-moons flows),
// compared with a tolerance.
//
// Why a tolerance: LibTorch picks its float kernels per CPU (vector width, oneDNN/MKL paths, summation
// order) and per thread count, so float32 results differ in the last bits between machines. Measured with
// `node scripts/flow-drift.mjs` (every seeded model below under ATEN_CPU_CAPABILITY=default, avx2 and the
// CPU's own, at 1 and 2 threads, against the fixture; an AMD EPYC with AVX-512, PyTorch 2.15.0), the
// largest drift relative to its vector's largest magnitude was 1.9e-7 for likelihoods (log p(x), log p(z),
// log-det, the two-moons traces: a few float32 ulps) and 1.1e-5 for the other tensors (gradients through
// batch norm, codes, inverses, samples). TOLERANCE is about 50x and 90x above those. A deliberate change
// moves far more (same script, FLOW_DRIFT_RUNS=native-1): a coupling's scale sigmoid(s + 2) made
// sigmoid(s + 2.01) moves likelihoods by 2.3e-4 and tensors by 8.4e-3; a prior of -0.501 z^2 in place of
// -0.5 z^2 moves them by 2.2e-3 and 5.3e-2. Either fails this test.
//
// Tensors too large to record are pinned by four numbers: their sum, L1 norm, L2 norm and a projection on
// fixed pseudo-random signs (which catches permutations and sign flips the other three miss).
// fixtures/flow-compat.json holds the values; re-record (WRITE_FLOW_FIXTURE=1) only for a deliberate change
// of a model, never for a refactor. FLOW_FIXTURE_DUMP=FILE writes the values computed here to FILE and
// compares nothing (what scripts/flow-drift.mjs runs).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { createModel, presetFor, type ModelConfig } from "../../lib/models/registry.js";
import { flowOf } from "../../lib/models/flows/flow.js";
import type { GlowConfig } from "../../lib/models/glow/glow.js";
import type { PresetName, Shape } from "../../lib/presets.js";
import { trainMoonFlow, type MoonScale, type MoonStyle } from "../../experiments/two-moons.js";
import { kindOf, relativeDrift } from "../../scripts/flow-drift.mjs";

/** What a value may move before the test fails, by kind (see the top for how these were set). */
const TOLERANCE = { likelihoods: 1e-5, tensors: 1e-3 } as const;

const FIXTURE = new URL("./fixtures/flow-compat.json", import.meta.url);
const WRITE = process.env.WRITE_FLOW_FIXTURE === "1";
const DUMP = process.env.FLOW_FIXTURE_DUMP;
const recorded: Record<string, unknown> = existsSync(FIXTURE) ? JSON.parse(readFileSync(FIXTURE, "utf8")) : {};
const fresh: Record<string, unknown> = {};

/** Structure that must be exact: names, dtypes, shapes. */
function pinnedExactly(key: string, value: unknown): void {
  fresh[key] = value;
  if (WRITE || DUMP) return;
  expect(recorded[key], `no recorded '${key}' in ${FIXTURE.pathname}`).toBeDefined();
  expect(value, key).toEqual(recorded[key]);
}

/** Float values: within their kind's TOLERANCE of the recorded ones, relative to the vector's largest magnitude. */
function pinnedClose(key: string, values: number[]): void {
  fresh[key] = values;
  if (WRITE || DUMP) return;
  const want = recorded[key] as number[] | undefined;
  expect(want, `no recorded '${key}' in ${FIXTURE.pathname}`).toBeDefined();
  expect(values.length, `${key}: length`).toBe(want!.length);
  expect(values.every(Number.isFinite), `${key}: finite`).toBe(true);
  const drift = relativeDrift(values, want!);
  const tolerance = TOLERANCE[kindOf(key) as keyof typeof TOLERANCE];
  expect(drift, `${key}: relative drift ${drift.toExponential(2)} > ${tolerance}`).toBeLessThanOrEqual(tolerance);
}

/** A tensor: its dtype and shape exactly, its values by four summaries (see the top). */
function pinnedTensor(key: string, t: torch.Tensor): void {
  pinnedExactly(`${key} layout`, `${t.dtype}[${t.shape}]`);
  pinnedClose(key, summary(t.toFlatArray() as Float32Array));
}

function summary(v: ArrayLike<number>): number[] {
  let sum = 0,
    l1 = 0,
    l2 = 0,
    proj = 0,
    seed = 12345;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    seed = (Math.imul(seed, 1103515245) + 12345) | 0; // a fixed LCG: the same signs on every machine
    sum += x;
    l1 += Math.abs(x);
    l2 += x * x;
    proj += seed & 0x10000 ? x : -x;
  }
  return [sum, l1, Math.sqrt(l2), proj];
}

const stateDictLayout = (m: { stateDict(): Record<string, torch.Tensor> }) =>
  Object.entries(m.stateDict())
    .map(([k, t]) => `${k} ${t.dtype}[${t.shape}]`)
    .sort();

const FLOW_KINDS = ["glow", "cv-glow", "realnvp"] as const;
// The paper's presets at 28x28 only: their 32x32 models take seconds to build and share the code.
const PRESETS: [PresetName, Shape][] = [
  ["tiny", [1, 28, 28]],
  ["tiny", [3, 32, 32]],
  ["cpu", [1, 28, 28]],
  ["cpu", [3, 32, 32]],
  ["paper", [1, 28, 28]],
];

describe("flow checkpoints keep their layout", () => {
  for (const kind of FLOW_KINDS)
    for (const [preset, shape] of PRESETS)
      it(`${kind} ${preset} ${shape.join("x")}: state-dict names, dtypes and shapes`, () => {
        const m = createModel(presetFor(kind, preset, shape).model);
        pinnedExactly(`layout ${kind} ${preset} ${shape.join("x")}`, stateDictLayout(m));
        m.dispose();
      });

  it("glow with LU 1x1 convolutions and a learned prior: state-dict names, dtypes and shapes", () => {
    const cfg = { ...(presetFor("glow", "tiny", [1, 28, 28]).model as GlowConfig), lu: true, learnedPrior: true };
    const m = createModel(cfg);
    pinnedExactly("layout glow tiny lu learned-prior 1x28x28", stateDictLayout(m));
    m.dispose();
  });
});

const tinyConfigs: [string, ModelConfig][] = [
  ["glow", presetFor("glow", "tiny", [1, 28, 28]).model],
  ["cv-glow", presetFor("cv-glow", "tiny", [1, 28, 28]).model],
  ["realnvp", presetFor("realnvp", "tiny", [1, 28, 28]).model],
  [
    "glow lu learned-prior exp highway",
    { ...(presetFor("glow", "tiny", [1, 28, 28]).model as GlowConfig), lu: true, learnedPrior: true, scale: "exp", net: "highway" },
  ],
  ["realnvp 3 scales, no batch norm", { kind: "realnvp", imageShape: [3, 8, 8], scales: 3, hidden: 8, blocks: 2, alpha: 0.05, batchNorm: false }],
];

describe("seeded tiny flows give the same values, within the stated tolerance", () => {
  for (const [name, cfg] of tinyConfigs)
    it(`${name}: log p(x) and its terms, gradients, codes, inversion and samples`, () => {
      torch.tidy(() => {
        torch.manualSeed(0);
        const m = flowOf(createModel(cfg));
        const x = torch
          .rand([16, ...cfg.imageShape])
          .mul(0.9)
          .add(0.05);
        const train = m.objective(x); // data-dependent init, batch statistics
        pinnedClose(`${name} train logPx`, train.logPx.toFlatArray());
        pinnedClose(`${name} train logPz`, train.logPz!.toFlatArray());
        pinnedClose(`${name} train logDet`, train.logDet!.toFlatArray());
        torch.noGrad(() => {
          for (const p of m.parameters()) p.add_(torch.randnLike(p).mul(0.05));
        }); // couplings that are not the identity
        m.zeroGrad();
        m.objective(x).logPx.mean().neg().backward();
        for (const [n, p] of m.namedParameters()) pinnedTensor(`${name} gradient ${n}`, p.grad!);
        m.zeroGrad();
        m.train(false);
        torch.noGrad(() => {
          const ev = m.logLikelihood(x);
          pinnedClose(`${name} eval logPx`, ev.logPx.toFlatArray());
          pinnedClose(`${name} eval logPz`, ev.logPz!.toFlatArray());
          pinnedClose(`${name} eval logDet`, ev.logDet!.toFlatArray());
          const { zs } = m.encode(x);
          zs.forEach((z, i) => pinnedTensor(`${name} code ${i}`, z));
          pinnedTensor(`${name} inverse`, m.inverse(zs));
          torch.manualSeed(1);
          pinnedTensor(`${name} samples`, m.sample(3, { temperature: 0.7 }));
          torch.manualSeed(2);
          pinnedTensor(
            `${name} decode with the top code given`,
            m.decode(
              zs.map((z, i) => (i === zs.length - 1 ? z.narrow(0, 0, 2) : null)),
              2,
              0.5,
            ),
          );
        });
        m.dispose();
      });
    });

  for (const style of ["realnvp", "glow"] as MoonStyle[])
    for (const scale of ["exp", "sigmoid"] as MoonScale[])
      it(`two moons, ${style} style, ${scale} scales: the held-out terms after 10 steps`, () => {
        const r = trainMoonFlow(10, scale, style, { trainSteps: 10, every: 5, flowSteps: 3, hidden: 16, batch: 32, seed: 3 });
        pinnedExactly(
          `two moons ${style} ${scale} steps`,
          r.trace.map((t) => t.step),
        );
        pinnedClose(
          `two moons ${style} ${scale}`,
          r.trace.flatMap((t) => [t.logPz, t.logDet]),
        );
      });
});

describe("the fixture", () => {
  it("holds exactly what the tests above record", () => {
    if (WRITE) writeFileSync(FIXTURE, `${JSON.stringify(fresh, null, 1)}\n`);
    else if (DUMP) writeFileSync(DUMP, JSON.stringify(fresh));
    else expect(Object.keys(recorded).sort()).toEqual(Object.keys(fresh).sort());
  });
});
