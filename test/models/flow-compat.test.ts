// Checkpoints and values of the flows must not move when their code is reorganised: the state-dict
// names, shapes and dtypes of every flow preset, and bit-for-bit values of seeded tiny models (log p(x)
// and its terms in training and evaluation, gradients, codes, inversion, samples, the two-moons flows).
// fixtures/flow-compat.json was recorded on the code before the flows toolkit (main at 7d7ac77).
// Re-record (WRITE_FLOW_FIXTURE=1) only for a deliberate change of a model, never for a refactor.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { createModel, presetFor, type ModelConfig } from "../../lib/models/registry.js";
import { flowOf } from "../../lib/models/flows/flow.js";
import type { GlowConfig } from "../../lib/models/glow/glow.js";
import type { PresetName, Shape } from "../../lib/presets.js";
import { trainMoonFlow, type MoonScale, type MoonStyle } from "../../experiments/two-moons.js";

const FIXTURE = new URL("./fixtures/flow-compat.json", import.meta.url);
const WRITE = process.env.WRITE_FLOW_FIXTURE === "1";
const recorded: Record<string, unknown> = existsSync(FIXTURE) ? JSON.parse(readFileSync(FIXTURE, "utf8")) : {};
const fresh: Record<string, unknown> = {};

/** Compares with the recorded value (or records it when writing the fixture). */
function pinned(key: string, value: unknown): void {
  fresh[key] = value;
  if (WRITE) return;
  expect(recorded[key], `no recorded '${key}' in ${FIXTURE.pathname}`).toBeDefined();
  expect(value, key).toEqual(recorded[key]);
}

/** sha256 of a tensor's bytes: equal only if every element is bit-for-bit the same. */
const digest = (t: torch.Tensor) =>
  `${t.dtype}[${t.shape}] ${createHash("sha256")
    .update(t.contiguous().data() as Uint8Array)
    .digest("hex")
    .slice(0, 24)}`;

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
        pinned(`layout ${kind} ${preset} ${shape.join("x")}`, stateDictLayout(m));
        m.dispose();
      });

  it("glow with LU 1x1 convolutions and a learned prior: state-dict names, dtypes and shapes", () => {
    const cfg = { ...(presetFor("glow", "tiny", [1, 28, 28]).model as GlowConfig), lu: true, learnedPrior: true };
    const m = createModel(cfg);
    pinned("layout glow tiny lu learned-prior 1x28x28", stateDictLayout(m));
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

describe("seeded tiny flows give bit-for-bit the same values", () => {
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
        pinned(`${name} train logPx`, train.logPx.toFlatArray());
        pinned(`${name} train logPz`, train.logPz!.toFlatArray());
        pinned(`${name} train logDet`, train.logDet!.toFlatArray());
        torch.noGrad(() => {
          for (const p of m.parameters()) p.add_(torch.randnLike(p).mul(0.05));
        }); // couplings that are not the identity
        m.zeroGrad();
        m.objective(x).logPx.mean().neg().backward();
        pinned(
          `${name} gradients`,
          m.namedParameters().map(([n, p]) => `${n} ${digest(p.grad!)}`),
        );
        m.zeroGrad();
        m.train(false);
        torch.noGrad(() => {
          const ev = m.logLikelihood(x);
          pinned(`${name} eval logPx`, ev.logPx.toFlatArray());
          pinned(`${name} eval logPz`, ev.logPz!.toFlatArray());
          pinned(`${name} eval logDet`, ev.logDet!.toFlatArray());
          const { zs } = m.encode(x);
          pinned(`${name} codes`, zs.map(digest));
          pinned(`${name} inverse`, digest(m.inverse(zs)));
          torch.manualSeed(1);
          pinned(`${name} samples`, digest(m.sample(3, { temperature: 0.7 })));
          torch.manualSeed(2);
          pinned(
            `${name} decode with the top code given`,
            digest(
              m.decode(
                zs.map((z, i) => (i === zs.length - 1 ? z.narrow(0, 0, 2) : null)),
                2,
                0.5,
              ),
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
        pinned(`two moons ${style} ${scale}`, r.trace);
      });
});

describe("the fixture", () => {
  it("holds exactly what the tests above record", () => {
    if (WRITE) writeFileSync(FIXTURE, `${JSON.stringify(fresh, null, 1)}\n`);
    else expect(Object.keys(recorded).sort()).toEqual(Object.keys(fresh).sort());
  });
});
