/**
 * Likelihood Regret (Xiao, Yan and Amit, "Likelihood Regret: An Out-of-Distribution Detection Score for
 * Variational Auto-encoder", NeurIPS 2020): how much a VAE's ELBO on one input improves when its encoder is
 * re-fitted to that input alone, with the decoder fixed:
 *   LR(x) = ELBO(x; phi*(x), theta) - ELBO(x; phi, theta),  phi*(x) = encoder after `steps` Adam steps on x.
 * In-distribution inputs are already well encoded (small regret); OOD inputs gain more.
 *
 * Cost: `steps` forward and backward passes of the whole VAE per input, one input at a time (each gets its
 * own copy of the encoder), plus two ELBO estimates: far slower than a likelihood. The ELBO before and after
 * uses the same fixed noise draws, so the difference is not noise.
 */
import * as torch from "../tensor/index.js";
import { Adam } from "../optim/index.js";
import type { VAE } from "../models/vae/vae.js";
import { categoricalLogLikelihood } from "../models/discrete.js";

export interface RegretOptions {
  /** Adam steps on the encoder per input (the paper: 100; fewer already separate). */
  steps?: number;
  lr?: number;
  /** Noise draws of the ELBO estimate before and after. */
  draws?: number;
  seed?: number;
}

/** ELBO of one input [1, C, H, W] with fixed noise eps [S, latent]: the mean over draws, nats. */
function elbo(vae: VAE, x: torch.Tensor, eps: torch.Tensor): torch.Tensor {
  return torch.tidy(() => {
    const { values, mu, logVar } = vae.encode(x);
    const s = eps.shape[0]!;
    const z = eps.mul(logVar.mul(0.5).exp()).add(mu); // [S, latent]
    const target = values.expand(s, ...values.shape.slice(1));
    const rec = categoricalLogLikelihood(vae.decode(z), target, vae.levels).mean();
    const kl = mu.square().add(logVar.exp()).sub(1).sub(logVar).sum().mul(0.5);
    return rec.sub(kl);
  });
}

/** Likelihood Regret of each image of x [B, C, H, W] (values in [0, 1]), nats. */
export function likelihoodRegret(vae: VAE, x: torch.Tensor, o: RegretOptions = {}): Float64Array {
  const steps = o.steps ?? 20,
    draws = o.draws ?? 8;
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`likelihood regret: steps must be a positive integer, got ${steps}`);
  const encoder = [...vae.encoderConvs.parameters(), ...vae.toPosterior.parameters()];
  const decoder = [...vae.fromLatent.parameters(), ...vae.decoderConvs.parameters(), ...vae.toLogits.parameters()];
  const saved = torch.tidy(() => encoder.map((p) => p.detach().clone().keep()));
  const n = x.shape[0]!;
  const out = new Float64Array(n);
  const wasTraining = vae.training;
  vae.train(false);
  // The decoder stays fixed: no gradients for it.
  const decoderGrad = decoder.map((p) => p.requiresGrad);
  for (const p of decoder) p.requiresGrad_(false);
  // Seeded for a reproducible score; the caller's generator state is put back afterwards.
  const rngState = torch.getRngState();
  torch.manualSeed(o.seed ?? 0);
  try {
    for (let i = 0; i < n; i++) {
      torch.tidy(() => {
        const xi = x.narrow(0, i, 1);
        const eps = torch.randn([draws, vae.config.latent], { device: xi.device });
        const before = torch.noGrad(() => elbo(vae, xi, eps).item());
        const opt = new Adam(encoder, { lr: o.lr ?? 1e-4 });
        try {
          for (let k = 0; k < steps; k++) {
            torch.tidy(() => {
              const loss = elbo(vae, xi, torch.randn([draws, vae.config.latent], { device: xi.device })).neg();
              opt.zeroGrad();
              loss.backward();
              opt.step();
            });
          }
        } finally {
          opt.dispose();
        }
        const after = torch.noGrad(() => elbo(vae, xi, eps).item());
        out[i] = after - before;
        torch.noGrad(() => encoder.forEach((p, j) => p.copy_(saved[j]!)));
        for (const p of encoder) p.grad = null;
      });
    }
  } finally {
    torch.dispose(saved);
    torch.setRngState(rngState);
    rngState.dispose();
    decoder.forEach((p, j) => p.requiresGrad_(decoderGrad[j]!));
    vae.train(wasTraining);
  }
  return out;
}
