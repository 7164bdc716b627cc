// ActNorm: data-dependent initialisation, a flag that survives save/load, invertibility and log-det.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as torch from "../../../lib/tensor/index.js";
import { ActNorm } from "../../../lib/models/flows/index.js";

const dir = mkdtempSync(join(tmpdir(), "torchts-actnorm-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const maxAbs = (t: torch.Tensor) => torch.tidy(() => t.abs().max().item());
// Data far from zero mean / unit variance, with a different scale per channel.
const batch = (n = 16) =>
  torch
    .randn([n, 3, 5, 5])
    .mul(torch.tensor([0.5, 2, 7]).view(1, 3, 1, 1))
    .add(torch.tensor([3, -1, 10]).view(1, 3, 1, 1));

describe("ActNorm", () => {
  it("initialises from the first training batch to zero mean and unit variance per channel", () => {
    torch.manualSeed(0);
    const an = new ActNorm(3);
    expect(an.initialized).toBe(false);
    const x = batch();
    const [y, logdet] = an.forward(x);
    expect(an.initialized).toBe(true);
    expect(an.getBuffer("initialized").item()).toBe(1);
    expect(maxAbs(y.mean([0, 2, 3]))).toBeLessThan(1e-5);
    expect(maxAbs(y.std([0, 2, 3], { correction: 0 }).sub(1))).toBeLessThan(1e-4);
    // log-det = H*W*sum(logs) = -H*W*sum(log std) for every example.
    const expected = -25 * x.std([0, 2, 3], { correction: 0 }).log().sum().item();
    expect(logdet.shape).toEqual([16]);
    for (const v of logdet.toFlatArray()) expect(v).toBeCloseTo(expected, 3);
    // A second batch uses the learned parameters; it does not re-initialise.
    const logs = an.logs.tolist();
    an.forward(batch().mul(5));
    expect(an.logs.tolist()).toEqual(logs);
    an.dispose();
  });

  it("does not initialise in eval mode", () => {
    const an = new ActNorm(3).eval();
    const x = batch(4);
    const [y] = an.forward(x);
    expect(an.initialized).toBe(false);
    expect(y.tolist()).toEqual(x.tolist()); // identity at zero bias and log-scale
    an.dispose();
  });

  it("keeps the initialized flag through save/load, so a loaded model does not re-initialise", () => {
    torch.manualSeed(1);
    const a = new ActNorm(3);
    a.forward(batch());
    const path = join(dir, "actnorm.safetensors");
    a.save(path);
    expect(Object.keys(a.stateDict()).sort()).toEqual(["bias", "initialized", "logs"]);

    const b = new ActNorm(3);
    b.load(path);
    expect(b.initialized).toBe(true);
    const x2 = batch().mul(3).add(4); // a training batch with other statistics
    const [ya] = a.forward(x2);
    const [yb] = b.forward(x2);
    expect(yb.tolist()).toEqual(ya.tolist());
    expect(maxAbs(yb.mean([0, 2, 3]))).toBeGreaterThan(0.1); // not normalised to this batch

    const c = new ActNorm(3); // without the checkpoint the same batch would initialise it
    const [yc] = c.forward(x2);
    expect(maxAbs(yc.mean([0, 2, 3]))).toBeLessThan(1e-5);
    for (const m of [a, b, c]) m.dispose();
  });

  it("inverts its forward map, with the negative log-det", () => {
    torch.manualSeed(2);
    const an = new ActNorm(3, { logScaleFactor: 3 });
    const x = batch(8);
    const [y, ld] = an.forward(x);
    const [x2, ldInv] = an.inverse(y);
    expect(maxAbs(x2.sub(x))).toBeLessThan(1e-4);
    expect(maxAbs(ld.add(ldInv))).toBe(0);
    // With logScaleFactor 3 the stored parameter is a third of the log-scale.
    expect(
      an.logs
        .mul(3)
        .exp()
        .mul(x.std([0, 2, 3], { correction: 0, keepdim: true }))
        .sub(1)
        .abs()
        .max()
        .item(),
    ).toBeLessThan(1e-4);
    expect(() => an.forward(torch.zeros([1, 2, 3, 3]))).toThrow(/expected input \(N, 3, H, W\)/);
    an.dispose();
  });
});
