// Model configs and model inputs are checked where they enter: a typo, a missing field or an input the
// model was not built for is an error that names it and says what to do, never a default, a crash later
// or a silently wrong number.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { createModel, presetFor, type ModelConfig } from "../../lib/models/registry.js";
import { bitsPerDim, toBitsPerDim } from "../../lib/models/density.js";
import { Glow } from "../../lib/models/glow/glow.js";

const glow = () => presetFor("glow", "tiny", [1, 8, 8]).model as Record<string, unknown>;
const errorOf = (config: unknown): string => {
  try {
    createModel(config as ModelConfig).dispose();
  } catch (e) {
    return (e as Error).message;
  }
  return "no error";
};

describe("createModel checks the config against its kind's schema", () => {
  it("names the field and the allowed values of a typo or a bad number, instead of a default", () => {
    expect(errorOf({ ...glow(), coupling: "affin" })).toMatch(/^Glow config: "coupling" .*"affine"\|"additive".*got "affin"/);
    expect(errorOf({ ...glow(), net: "resnett" })).toMatch(/^Glow config: "net" .*"highway"\|"conv".*got "resnett"/);
    expect(errorOf({ ...glow(), scale: "sigmod" })).toMatch(/"scale" .*"sigmoid"\|"exp".*got "sigmod"/);
    expect(errorOf({ ...glow(), levels: -1 })).toMatch(/^Glow config: "levels" must be an integer >= 1, got -1/);
    expect(errorOf({ ...glow(), imageShape: [1, -8, 8] })).toMatch(/"imageShape\[1\]" must be an integer >= 1, got -8/);
    expect(errorOf({ ...glow(), colour: true })).toMatch(/unknown field\(s\) "colour"/);
    expect(errorOf({ ...presetFor("realnvp", "tiny", [1, 8, 8]).model, blocks: 0 })).toMatch(/^RealNVP config: "blocks" must be an integer >= 1, got 0/);
    expect(errorOf({ ...presetFor("pixelcnn", "tiny", [1, 8, 8]).model, kernel: 4 })).toMatch(/^PixelCNN config: "kernel" must be odd, got 4/);
    expect(errorOf({ ...presetFor("vae", "tiny", [1, 28, 28]).model, latent: 2.5 })).toMatch(/^VAE config: "latent" must be an integer >= 1, got 2.5/);
  });

  it("names missing fields rather than failing inside the model ('undefined is not iterable')", () => {
    const m = errorOf({ kind: "glow" });
    expect(m).not.toMatch(/iterable/);
    expect(m).toMatch(/"imageShape" .*got nothing/);
    expect(m).toMatch(/"levels" must be an integer >= 1, got nothing/);
    expect(errorOf(undefined)).toMatch(/^createModel: expected a model config with a "kind" \(one of glow, cv-glow/);
    expect(errorOf({ kind: "glwo" })).toMatch(/unknown model kind 'glwo'/);
  });

  it("refuses an image size the levels cannot squeeze, and cv-glow with affine couplings", () => {
    expect(errorOf({ ...glow(), imageShape: [1, 6, 6], levels: 2 })).toMatch(/"imageShape" must have H and W divisible by 4 for 2 levels, got \[1,6,6\]/);
    expect(errorOf({ ...glow(), kind: "cv-glow", coupling: "affine" })).toMatch(/"coupling" must be "additive" for cv-glow/);
  });
});

describe("models check their inputs", () => {
  const kinds = ["glow", "realnvp", "pixelcnn", "vae"] as const;
  const make = (kind: (typeof kinds)[number]) => createModel(presetFor(kind, "tiny", [1, 28, 28]).model);
  const bins = (shape: number[]) => torch.rand(shape).mul(255).floor().add(0.5).div(256);

  it("refuse a batch of another image size than the model's (a 28x28 model scored 32x32 images)", () => {
    for (const kind of kinds) {
      const m = make(kind);
      m.train(false);
      torch.tidy(() => {
        expect(() => m.logLikelihood(bins([2, 1, 32, 32])), kind).toThrow(
          new RegExp(`^${kind}: this model scores images \\[B, C, H, W\\] = \\[B, 1, 28, 28\\], got \\[2, 1, 32, 32\\]; resize them to 28x28`),
        );
        expect(() => m.objective(bins([2, 28, 28])), kind).toThrow(/got \[2, 28, 28\]/);
      });
      m.dispose();
    }
  });

  it("refuse 8-bit integer images (a uint8 batch scored -8.1e6), saying how to convert them", () => {
    for (const kind of kinds) {
      const m = make(kind);
      m.train(false);
      torch.tidy(() =>
        expect(() => m.logLikelihood(bins([2, 1, 28, 28]).mul(256).to("uint8")), kind).toThrow(
          /expected images as floats in \[0, 1\], got a uint8 tensor; pass \(p \+ 0.5\) \/ 256 .* or load them through the data pipeline/,
        ),
      );
      m.dispose();
    }
  });

  it("refuse a temperature that is not in (0, 10] and a count that is not a positive integer; samples are finite", () => {
    for (const kind of kinds) {
      const m = make(kind);
      for (const temperature of [NaN, 1e10, -1, 0])
        expect(() => m.sample(2, { temperature }), `${kind} ${temperature}`).toThrow(
          new RegExp(`temperature must be a number in \\(0, 10\\].*got ${temperature}`),
        );
      expect(() => m.sample(2.5)).toThrow(/n must be a positive integer, got 2.5/);
      m.dispose();
    }
    const g = make("glow");
    g.train(false);
    const x = g.sample(2, { temperature: 10 });
    expect(torch.tidy(() => x.isfinite().all().item())).toBeTruthy();
    x.dispose();
    g.dispose();
  });

  it("bitsPerDim refuses dims that are not a positive integer (it gave Infinity)", () => {
    expect(() => toBitsPerDim(-100, 0)).toThrow(/dims must be the number of dimensions D of an image .*got 0/);
    torch.tidy(() => expect(() => bitsPerDim(torch.tensor([-100]), 0)).toThrow(/got 0/));
    expect(toBitsPerDim(-784 * Math.LN2, 784)).toBeCloseTo(1, 12);
  });

  it("ActNorm refuses to initialise on a constant batch (log p(x) was +27277, then -Infinity)", () => {
    const m = new Glow(glow() as never);
    m.train(true);
    const constant = torch.full([4, 1, 8, 8], 0.5);
    expect(() => torch.tidy(() => m.objective(constant))).toThrow(
      /ActNorm\(4\): the first training batch has a channel with standard deviation 0 .*not a constant one/,
    );
    // a varied batch still initialises, and then scores the constant image finitely
    torch.tidy(() => m.objective(bins([8, 1, 8, 8])));
    m.train(false);
    const lp = torch.tidy(() => m.logLikelihood(constant).logPx.toFlatArray());
    expect(lp.every((v) => Number.isFinite(v) && v < 0)).toBe(true);
    m.dispose();
  });
});
