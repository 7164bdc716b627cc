// Model configs and model inputs are checked where they enter: a typo, a missing field or an input the
// model was not built for is an error that names it and says what to do, never a default, a crash later
// or a silently wrong number.
import { describe, expect, it } from "vitest";
import { createModel, presetFor, type ModelConfig } from "../../lib/models/registry.js";

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
