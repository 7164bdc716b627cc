// `node bench/density_cost.mjs` (after `npx tsc -p tsconfig.json`): microseconds per image of the combined detector's
// kernel density (lib/ood/combined.ts) at the size a service uses, 5,000 validation points and 6 statistics,
// beside the Gaussian it replaced. Random normal statistics: the cost does not depend on their values.
const { fitKde, kdeScore, fitGaussian, mahalanobis } = await import("../dist/lib/ood/combined.js");
const { Rng } = await import("../dist/lib/data/index.js");
const rng = Rng.seeded(1);
const col = (n) => Float64Array.from({ length: n }, () => rng.normal());
const names = ["c1", "c2", "c3", "ld", "png", "brotli"];
const fitStats = Object.fromEntries(names.map((k) => [k, col(5000)]));
const probe = Object.fromEntries(names.map((k) => [k, col(2000)]));
const { fit } = fitKde(fitStats);
const g = fitGaussian(fitStats).fit;
for (const [name, f] of [
  ["kde", () => kdeScore(fit, probe)],
  ["gaussian", () => mahalanobis(g, probe)],
]) {
  f();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3 / 2000);
  }
  console.log(`${name}: ${best.toFixed(2)} us an image (2,000 images against 5,000 points, 6 statistics)`);
}
