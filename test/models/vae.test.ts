// VAE: the importance-weighted log-likelihood bounds the ELBO from above and tightens with K; the
// categorical decoder gives discrete log-likelihoods of 8-bit images.
import { beforeAll, describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { VAE, type VAEConfig } from "../../lib/models/vae/vae.js";
import { Adam } from "../../lib/optim/index.js";

beforeAll(() => torch.setNumThreads(1)); // two test forks share two cores

const config = (o: Partial<VAEConfig> = {}): VAEConfig => ({
  kind: "vae",
  imageShape: [1, 8, 8],
  latent: 4,
  iwSamples: 10,
  encoder: [8, 8],
  bottleneck: 8,
  decoder: [8, 8],
  initStd: 0.1,
  ...o,
});

/** 8-bit images with structure (a bright square on a dark background, at random places), as bin centres. */
function images(n: number): torch.Tensor {
  return torch.tidy(() => {
    const x = torch.randint(0, 40, [n, 1, 8, 8]).float();
    const sq = torch.zeros([n, 1, 8, 8]);
    for (let i = 0; i < n; i++) {
      const r = i % 5,
        c = (i * 3) % 5;
      sq.select(0, i).narrow(1, r, 3).narrow(2, c, 3).fill_(200);
    }
    return x.add(sq).clamp(0, 255).add(0.5).div(256);
  });
}

/** Maximises the ELBO for a few steps, so the decoder depends on z and the posterior is informative. */
function fit(m: VAE, x: torch.Tensor, steps: number): void {
  const opt = new Adam(m.parameters(), { lr: 3e-3 });
  for (let i = 0; i < steps; i++)
    torch.tidy(() => {
      const loss = m.objective(x).logPx.mean().neg();
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
  torch.dispose(opt.stateDict().tensors);
}

describe("VAE", () => {
  it("log p(x) estimates: IW(K=1) equals the ELBO in expectation, and IW(1) < IW(10) < IW(100) on the same examples", () => {
    torch.tidy(() => {
      torch.manualSeed(0);
      const m = new VAE(config());
      const x = images(32);
      fit(m, x, 150);
      m.train(false);
      torch.noGrad(() => {
        const avg = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
        const sd = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + (v - avg(a)) ** 2, 0) / (a.length - 1));
        // The ELBO (one draw, KL in closed form) and IW(K=1) (one draw of log p(x, z) - log q(z|x)) are
        // two estimators of the same number: over 100 draws each their means agree within a few standard errors.
        torch.manualSeed(1);
        const elbos: number[] = [],
          iw1s: number[] = [];
        for (let i = 0; i < 100; i++) {
          elbos.push(m.objective(x).logPx.mean().item());
          iw1s.push(m.importanceWeighted(x, 1).mean().item());
        }
        const se = Math.sqrt(sd(elbos) ** 2 / elbos.length + sd(iw1s) ** 2 / iw1s.length);
        expect(Math.abs(avg(elbos) - avg(iw1s))).toBeLessThan(4 * se);
        const elbo = avg(elbos);

        // Independent draws: IW(100) is above the ELBO by far more than its noise.
        const iw100 = m.importanceWeighted(x, 100).mean().item();
        expect(iw100 - elbo).toBeGreaterThan(10 * se);

        // The same 100 draws split into 100 x IW(1), 10 x IW(10) and 1 x IW(100): the batch means increase
        // with K, as log of a mean is at least the mean of logs.
        const w = m.logImportanceWeights(x, 100); // [100, 32]
        expect(w.shape).toEqual([100, 32]);
        const at = (k: number) =>
          w
            .view(100 / k, k, 32)
            .logsumexp(1)
            .sub(Math.log(k))
            .mean()
            .item();
        const [k1, k10, k100] = [at(1), at(10), at(100)];
        expect(k10).toBeGreaterThan(k1);
        expect(k100).toBeGreaterThan(k10);
        expect(Number.isFinite(k100)).toBe(true);
        // logLikelihood is the estimate with K = iwSamples.
        expect(m.logLikelihood(x).logPx.shape).toEqual([32]);
      });
      m.dispose();
    });
  });

  it("scores 8-bit images exactly (floor(256 x) is the pixel), in nats of a discrete distribution", () => {
    torch.tidy(() => {
      torch.manualSeed(3);
      const m = new VAE(config());
      m.train(false);
      const pixels = torch.randint(0, 256, [4, 1, 8, 8]).float();
      const noisy = pixels.add(torch.rand([4, 1, 8, 8]).mul(0.999)).div(256); // dequantized
      torch.manualSeed(4); // the same draws of z for both
      const centres = m.logLikelihood(pixels.add(0.5).div(256)).logPx;
      torch.manualSeed(4);
      const again = m.logLikelihood(noisy).logPx;
      expect(again.sub(centres).abs().max().item()).toBe(0);
      // A discrete log-probability: at most 0.
      expect(centres.max().item()).toBeLessThan(0);
      m.dispose();
    });
  });

  it("samples are bin centres in (0, 1)", () => {
    torch.tidy(() => {
      torch.manualSeed(5);
      const m = new VAE(config({ imageShape: [3, 8, 8] }));
      const s = m.sample(5);
      expect(s.shape).toEqual([5, 3, 8, 8]);
      const v = s.mul(256).sub(0.5);
      expect(v.sub(v.round()).abs().max().item()).toBeLessThan(1e-4);
      expect(s.min().item()).toBeGreaterThan(0);
      expect(s.max().item()).toBeLessThan(1);
      m.dispose();
    });
  });
});
