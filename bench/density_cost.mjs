// `node bench/density_cost.mjs` (after `npx tsc -p tsconfig.json`): microseconds per image of the combined
// detector's kernel density (lib/ood/combined.ts) at the size a service uses, 5,000 validation points and 6
// statistics, one LibTorch thread as a serving worker has: in batches of 1, 8 and 64 (what a service scores
// at once) and 2,000 images (an `ood` set), beside the Gaussian it replaced. Random normal statistics: the
// cost does not depend on their values.
const torch = await import("../dist/lib/tensor/index.js");
const { fitKde, kdeScore, fitGaussian, mahalanobis } = await import("../dist/lib/ood/combined.js");
const { Rng } = await import("../dist/lib/data/index.js");
torch.setNumThreads(1);
const rng = Rng.seeded(1);
const col = (n) => Float64Array.from({ length: n }, () => rng.normal());
const names = ["c1", "c2", "c3", "ld", "png", "brotli"];
const fitStats = Object.fromEntries(names.map((k) => [k, col(5000)]));
const { fit } = fitKde(fitStats);
const gaussian = fitGaussian(fitStats).fit;
const perImage = (f, n, calls) => {
  for (let i = 0; i < Math.max(3, calls / 10); i++) f();
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3 / calls / n);
  }
  return best.toFixed(2);
};
for (const [n, calls] of [
  [1, 300],
  [8, 100],
  [64, 30],
  [2000, 2],
]) {
  const probe = Object.fromEntries(names.map((k) => [k, col(n)]));
  console.log(
    `${n} images a call: kernel density ${perImage(() => kdeScore(fit, probe), n, calls)} us an image, Gaussian ${perImage(() => mahalanobis(gaussian, probe), n, calls)}`,
  );
}
