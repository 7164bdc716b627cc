// Gated PixelCNN: causal in raster-then-colour order (checked by gradients), and a normalised
// distribution (checked by enumerating every image of a 2-value alphabet).
import { beforeAll, describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { PixelCNN, type PixelCNNConfig } from "../../lib/models/pixelcnn/pixelcnn.js";

beforeAll(() => torch.setNumThreads(1)); // two test forks share two cores

const config = (o: Partial<PixelCNNConfig> = {}): PixelCNNConfig => ({
  kind: "pixelcnn",
  imageShape: [1, 5, 5],
  layers: 3,
  features: 6,
  skip: 6,
  kernel: 3,
  firstKernel: 5,
  ...o,
});

/** Moves every parameter a little so no weight sits at an initial value that hides a dependency. */
function perturb(m: PixelCNN, seed: number): void {
  torch.manualSeed(seed);
  torch.noGrad(() => {
    for (const p of m.parameters())
      torch.tidy(() => {
        p.add_(torch.randnLike(p).mul(0.1));
      });
  });
}

/**
 * |d logits at sub-pixel (ch, r, c) / d input| summed over the L logits and the batch, as [C][H][W].
 * The input is continuous (the network's own), so every dependency shows as a gradient.
 */
function sensitivity(m: PixelCNN, ch: number, r: number, c: number): number[][][] {
  return torch.tidy(() => {
    const [C, H, W] = m.imageShape;
    const x = torch.rand([16, C, H, W]).mul(2).sub(1).requiresGrad_(true);
    const logits = m.logits(x).view(16, C, m.levels, H, W);
    const at = logits.select(1, ch).select(2, r).select(2, c); // [16, L]
    const [g] = torch.autograd.grad(at.mul(torch.randnLike(at)).sum(), x);
    return g!.abs().sum(0).tolist() as number[][][];
  });
}

/** Is sub-pixel (ch2, r2, c2) strictly before (ch, r, c) in raster order, colours R < G < B within a pixel? */
const before = (ch2: number, r2: number, c2: number, ch: number, r: number, c: number) => r2 < r || (r2 === r && (c2 < c || (c2 === c && ch2 < ch)));

function expectCausal(m: PixelCNN): void {
  const [C, H, W] = m.imageShape;
  for (let ch = 0; ch < C; ch++)
    for (let r = 0; r < H; r++)
      for (let c = 0; c < W; c++) {
        const s = sensitivity(m, ch, r, c);
        for (let ch2 = 0; ch2 < C; ch2++)
          for (let r2 = 0; r2 < H; r2++)
            for (let c2 = 0; c2 < W; c2++) {
              const v = s[ch2]![r2]![c2]!;
              const where = `logits of (${ch}, ${r}, ${c}) w.r.t. input (${ch2}, ${r2}, ${c2})`;
              // Everything before is seen (no blind spot: the receptive field covers these small images),
              // nothing at or after.
              if (before(ch2, r2, c2, ch, r, c)) expect(v, where).toBeGreaterThan(0);
              else expect(v, where).toBe(0);
            }
      }
}

describe("PixelCNN", () => {
  it("is causal on one channel: the logits at a pixel see every pixel before it and none at or after it", () => {
    torch.manualSeed(0);
    const m = new PixelCNN(config());
    perturb(m, 1);
    expectCausal(m);
    m.dispose();
  });

  it("is causal over R < G < B: mask A hides a colour from its own logits, mask B keeps the earlier colours", () => {
    // Colour g's logits see colour g' < g at the same pixel only through the first layer's mask-A tap
    // (group g reads g' < g) followed by mask-B taps that pass group g to group g in every later layer
    // and in the output; colour g itself must stay hidden through all of them. 7 features split 3/2/2
    // (uneven groups, as 128 features over RGB).
    torch.manualSeed(2);
    const m = new PixelCNN(config({ imageShape: [3, 3, 4], features: 7, skip: 12, layers: 3 }));
    perturb(m, 3);
    expectCausal(m);
    m.dispose();
  });

  it("each conditional is a distribution over the 256 values", () => {
    torch.tidy(() => {
      torch.manualSeed(4);
      const m = new PixelCNN(config({ imageShape: [3, 4, 4] }));
      const x = torch.rand([2, 3, 4, 4]);
      const p = m.conditionals(x).exp().sum(2); // [B, C, H, W]
      expect(p.sub(1).abs().max().item()).toBeLessThan(1e-5);
      m.dispose();
    });
  });

  for (const shape of [
    [1, 2, 2],
    [3, 2, 2],
  ] as [number, number, number][]) {
    it(`p(x) sums to 1 over every image of a 2-value alphabet (${shape.join("x")})`, () => {
      torch.tidy(() => {
        torch.manualSeed(5);
        const m = new PixelCNN(config({ imageShape: shape, levels: 2, firstKernel: 3, features: 6, skip: 6 }));
        perturb(m, 6);
        const d = shape[0] * shape[1] * shape[2];
        const n = 2 ** d;
        // Image i has sub-pixel j = bit j of i; values v in {0, 1} are the bin centres (v + 0.5) / 2.
        const bits = new Float32Array(n * d);
        for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) bits[i * d + j] = (i >> j) & 1;
        const x = torch
          .tensor(bits, { shape: [n, ...shape] })
          .add(0.5)
          .div(2);
        const logPx = m.logLikelihood(x).logPx.double();
        expect(logPx.logsumexp(0).item()).toBeCloseTo(0, 5);
        expect(Math.abs(logPx.exp().sum().item() - 1)).toBeLessThan(1e-5);
        // Not trivially uniform: the probabilities differ.
        expect(logPx.max().sub(logPx.min()).item()).toBeGreaterThan(0.1);
        m.dispose();
      });
    });
  }

  it("scores 8-bit images exactly (floor(256 x) is the pixel) and samples bin centres", () => {
    torch.tidy(() => {
      torch.manualSeed(7);
      const m = new PixelCNN(config({ imageShape: [1, 3, 3] }));
      const pixels = torch.randint(0, 256, [4, 1, 3, 3]).float();
      const centres = m.logLikelihood(pixels.add(0.5).div(256)).logPx;
      const noisy = m.logLikelihood(pixels.add(torch.rand([4, 1, 3, 3]).mul(0.999)).div(256)).logPx;
      expect(noisy.sub(centres).abs().max().item()).toBe(0);
      expect(centres.shape).toEqual([4]);
      const s = m.sample(3);
      expect(s.shape).toEqual([3, 1, 3, 3]);
      const v = s.mul(256).sub(0.5);
      expect(v.sub(v.round()).abs().max().item()).toBeLessThan(1e-4);
      expect(s.min().item()).toBeGreaterThan(0);
      expect(s.max().item()).toBeLessThan(1);
      m.dispose();
    });
  });

  it("samples follow the model: with levels = 2, sample frequencies match the enumerated p(x)", () => {
    torch.tidy(() => {
      torch.manualSeed(8);
      const m = new PixelCNN(config({ imageShape: [1, 1, 2], levels: 2, firstKernel: 3 }));
      perturb(m, 9);
      const x = torch
        .tensor([[[[0, 0]]], [[[1, 0]]], [[[0, 1]]], [[[1, 1]]]])
        .add(0.5)
        .div(2);
      const p = m.logLikelihood(x).logPx.exp().toFlatArray();
      const n = 4000;
      const s = m.sample(n).mul(2).floor(); // [n, 1, 1, 2] values
      const code = s.select(3, 0).add(s.select(3, 1).mul(2)).flatten().toFlatArray();
      const freq = [0, 0, 0, 0];
      for (const k of code) freq[k]! += 1 / n;
      for (let i = 0; i < 4; i++) expect(Math.abs(freq[i]! - p[i]!)).toBeLessThan(0.03);
      m.dispose();
    });
  });
});
