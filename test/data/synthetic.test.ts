import { describe, expect, it } from "vitest";
import { constantImages, twoMoons, twoMoonsWithLabels, uniformImages } from "../../lib/data/synthetic.js";

describe("synthetic data", () => {
  it("constant images", () => {
    for (const value of [0, 128, 255]) {
      const d = constantImages({ n: 3, channels: 3, height: 32, width: 32, value });
      expect([d.n, d.channels, d.height, d.width, d.images.length]).toEqual([3, 3, 32, 32, 3 * 3072]);
      expect(d.images.every((v) => v === value)).toBe(true);
    }
    expect(() => constantImages({ n: 1, channels: 1, height: 2, width: 2, value: 256 })).toThrow(/integer 0\.\.255/);
    expect(() => constantImages({ n: 0, channels: 1, height: 2, width: 2, value: 0 })).toThrow(/n must be a positive integer/);
  });

  it("uniform images: seeded, all byte values, mean about 127.5", () => {
    const a = uniformImages({ n: 20, channels: 1, height: 28, width: 28, seed: 1 });
    const b = uniformImages({ n: 20, channels: 1, height: 28, width: 28, seed: 1 });
    const c = uniformImages({ n: 20, channels: 1, height: 28, width: 28, seed: 2 });
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
    expect(Buffer.from(a.images).equals(Buffer.from(c.images))).toBe(false);
    const mean = a.images.reduce((s, v) => s + v, 0) / a.images.length;
    expect(Math.abs(mean - 127.5)).toBeLessThan(3);
    expect(new Set(a.images).size).toBe(256);
  });

  it("two moons: two noisy half circles, replicated to D dimensions", () => {
    const { x, labels, dims } = twoMoonsWithLabels({ n: 2001, dims: 5, noise: 0, seed: 4 });
    expect(dims).toBe(5);
    expect(x.length).toBe(2001 * 5);
    expect(labels.filter((l) => l === 0).length).toBe(1001);
    for (let i = 0; i < 2001; i++) {
      const [a, b] = [x[i * 5], x[i * 5 + 1]];
      expect([x[i * 5 + 2], x[i * 5 + 3], x[i * 5 + 4]]).toEqual([a, b, a]);
      // noise 0: exactly on the circles
      const r = labels[i] === 0 ? Math.hypot(a, b) : Math.hypot(a - 1, b - 0.5);
      expect(r).toBeCloseTo(1, 5);
      if (labels[i] === 0) expect(b).toBeGreaterThanOrEqual(0);
      else expect(b).toBeLessThanOrEqual(0.5);
    }
    const noisy = twoMoonsWithLabels({ n: 4000, noise: 0.1, seed: 4 });
    let sq = 0;
    for (let i = 0; i < 4000; i++) {
      const [a, b] = [noisy.x[2 * i], noisy.x[2 * i + 1]];
      const r = noisy.labels[i] === 0 ? Math.hypot(a, b) : Math.hypot(a - 1, b - 0.5);
      sq += (r - 1) ** 2;
    }
    expect(Math.sqrt(sq / 4000)).toBeGreaterThan(0.07);
    expect(Math.sqrt(sq / 4000)).toBeLessThan(0.13);
    expect(Array.from(twoMoons({ n: 10, dims: 2, seed: 9 }))).toEqual(Array.from(twoMoons({ n: 10, dims: 2, seed: 9 })));
    expect(Array.from(twoMoons({ n: 10, seed: 9 }))).not.toEqual(Array.from(twoMoons({ n: 10, seed: 10 })));
    expect(() => twoMoons({ n: 10, dims: 1 })).toThrow(/dims must be an integer >= 2/);
  });
});
