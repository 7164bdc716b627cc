import { describe, expect, it } from "vitest";
import { Rng } from "../../lib/data/rng.js";
import {
  binCenters,
  centerUnit,
  dequantize,
  gray,
  grayDataset,
  mutatePixels,
  padDataset,
  padImages,
  scaleToCentered,
  scaleToUnit,
  tileChannels,
  tileDatasetChannels,
} from "../../lib/data/transforms.js";
import type { ImageDataset } from "../../lib/data/types.js";

const px = Uint8Array.of(0, 1, 127, 128, 254, 255);

describe("transforms", () => {
  it("dequantize: (x + u)/256 stays inside each pixel's bin, is seeded, and has mean (x + 0.5)/256", () => {
    const a = dequantize(px, Rng.seeded(5));
    const b = dequantize(px, Rng.seeded(5));
    const c = dequantize(px, Rng.seeded(6));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    px.forEach((x, i) => {
      expect(a[i]).toBeGreaterThanOrEqual(x / 256);
      expect(a[i]).toBeLessThanOrEqual((x + 1) / 256);
    });
    const many = new Uint8Array(100000).fill(10);
    const d = dequantize(many, Rng.seeded(1));
    const mean = d.reduce((s, v) => s + v, 0) / d.length;
    expect(mean).toBeCloseTo(10.5 / 256, 4);
    // the same draws as the generator gives
    const r = Rng.seeded(9);
    const u = [r.float(), r.float()];
    expect(Array.from(dequantize(Uint8Array.of(3, 200), Rng.seeded(9)))).toEqual([Math.fround((3 + u[0]) / 256), Math.fround((200 + u[1]) / 256)]);
  });

  it("scales to [0,1], [-0.5,0.5] and bin centres", () => {
    expect(Array.from(scaleToUnit(Uint8Array.of(0, 51, 255)))).toEqual([0, Math.fround(0.2), 1]);
    expect(Array.from(scaleToCentered(Uint8Array.of(0, 255)))).toEqual([-0.5, 0.5]);
    expect(Array.from(centerUnit(Float32Array.of(0, 0.25, 1)))).toEqual([-0.5, -0.25, 0.5]);
    expect(Array.from(binCenters(Uint8Array.of(0, 255)))).toEqual([0.5 / 256, 255.5 / 256]);
    const buf = Float32Array.of(1, 2);
    expect(centerUnit(buf, buf)).toBe(buf);
    expect(() => scaleToUnit(px, new Float32Array(2))).toThrow(/out has length 2, expected 6/);
  });

  it("grays towards 128: factor 1 is the identity, 0 is all 128", () => {
    expect(Array.from(gray(px, 1))).toEqual(Array.from(px));
    expect(Array.from(gray(px, 0))).toEqual([128, 128, 128, 128, 128, 128]);
    expect(Array.from(gray(Uint8Array.of(0, 255, 100), 0.5))).toEqual([64, 191.5, 114]);
    expect(() => gray(px, 1.5)).toThrow(/factor must be in \[0, 1\]/);
    const ds: ImageDataset = { name: "d", split: "test", images: Uint8Array.of(0, 255, 100, 128), n: 1, channels: 1, height: 2, width: 2 };
    const g = grayDataset(ds, 0.5);
    expect(Array.from(g.images)).toEqual([64, 192, 114, 128]);
    expect(Array.from(ds.images)).toEqual([0, 255, 100, 128]);
  });

  it("mutatePixels: replaces each pixel with probability rate by a level uniform on 0..255, seeded", () => {
    const n = 1_000_000;
    const x = new Uint8Array(n).fill(7);
    for (const rate of [0.1, 0.2, 0.3]) {
      const m = mutatePixels(x, rate, Rng.seeded(1));
      let changed = 0;
      for (let i = 0; i < n; i++) if (m[i] !== 7) changed++;
      // a mutation draws the pixel's own level 1 time in 256; the tolerance is 5 standard deviations
      const p = rate * (255 / 256);
      expect(Math.abs(changed / n - p), `rate ${rate}`).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
    // every pixel mutated: the levels are uniform (chi-square, 255 degrees of freedom: mean 255, sd 22.6)
    const counts = new Array(256).fill(0);
    for (const v of mutatePixels(new Uint8Array(256 * 4000), 1, Rng.seeded(2))) counts[v]++;
    const chi2 = counts.reduce((s, c) => s + (c - 4000) ** 2 / 4000, 0);
    expect(chi2).toBeLessThan(255 + 5 * 22.6);
    expect(Math.min(...counts)).toBeGreaterThan(3500);
    // the same generator state gives the same mutations, another seed others
    const a = mutatePixels(px, 0.5, Rng.seeded(3));
    expect(Array.from(mutatePixels(px, 0.5, Rng.seeded(3)))).toEqual(Array.from(a));
    expect(Array.from(mutatePixels(x.subarray(0, 1000), 0.5, Rng.seeded(4)))).not.toEqual(Array.from(mutatePixels(x.subarray(0, 1000), 0.5, Rng.seeded(3))));
    // rate 0 is the identity; in place works; the input is untouched otherwise
    expect(Array.from(mutatePixels(px, 0, Rng.seeded(3)))).toEqual(Array.from(px));
    expect(Array.from(px)).toEqual([0, 1, 127, 128, 254, 255]);
    const buf = Uint8Array.from(px);
    expect(Array.from(mutatePixels(buf, 0.5, Rng.seeded(3), buf))).toEqual(Array.from(a));
    expect(() => mutatePixels(px, 1.5, Rng.seeded(3))).toThrow(/rate must be in \[0, 1\], got 1.5/);
    expect(() => mutatePixels(px, NaN, Rng.seeded(3))).toThrow(/rate must be in \[0, 1\]/);
  });

  it("tiles one channel to three", () => {
    const x = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8); // 2 images of 2x2
    expect(Array.from(tileChannels(x, 2, 2, 2))).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8, 5, 6, 7, 8]);
    const ds: ImageDataset = { name: "m", split: "test", images: x, labels: Uint8Array.of(3, 4), n: 2, channels: 1, height: 2, width: 2 };
    const t = tileDatasetChannels(ds);
    expect([t.channels, t.images.length, t.labels]).toEqual([3, 24, ds.labels]);
    expect(() => tileDatasetChannels(t)).toThrow(/has 3 channels, expected 1/);
  });

  it("pads 28x28 to 32x32 with two zero pixels on each side", () => {
    const img = new Uint8Array(2 * 28 * 28).fill(9);
    img[0] = 1; // image 0, (0,0)
    img[28 * 28 + 27 * 28 + 27] = 2; // image 1, (27,27)
    const p = padImages(img, 2, 1, 28, 28);
    expect(p.length).toBe(2 * 32 * 32);
    expect(p[2 * 32 + 2]).toBe(1);
    expect(p[32 * 32 + 29 * 32 + 29]).toBe(2);
    expect(p[0] + p[31] + p[32 * 31] + p[1023] + p[32 + 1] + p[30 * 32 + 30]).toBe(0);
    let ones = 0;
    for (let i = 0; i < 1024; i++) if (p[i] !== 0) ones++;
    expect(ones).toBe(28 * 28);
    const ds: ImageDataset = { name: "f", split: "test", images: img, n: 2, channels: 1, height: 28, width: 28 };
    const pd = padDataset(ds);
    expect([pd.height, pd.width]).toEqual([32, 32]);
    expect(Array.from(pd.images)).toEqual(Array.from(p));
  });
});
