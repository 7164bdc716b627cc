// Mean bytes per image and images/s of each input-complexity encoder, one image at a time, with pngjs as
// lib/ood/complexity.ts used it before for comparison. After `npm run build:ts`:
//   UV_THREADPOOL_SIZE=1 taskset -c 0 node scripts/bench-complexity.mjs [N=1000]
import { PNG } from "pngjs";
import { readIdxImages } from "../dist/lib/data/index.js";
import { compressedBytes } from "../dist/lib/ood/complexity.js";

const sets = {
  "fashion-mnist": "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
  mnist: new URL("../../shared/datasets/mnist/t10k-images-idx3-ubyte.gz", import.meta.url).pathname,
};
const n = Number(process.argv[2] ?? 1000);
function pngjsBytes(px) {
  const png = new PNG({ width: 28, height: 28, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.from(px);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, deflateLevel: 9, filterType: -1 }).length;
}
for (const [name, file] of Object.entries(sets)) {
  const d = readIdxImages(file);
  for (const c of ["pngjs", "png", "webp", "brotli"]) {
    const t0 = performance.now();
    let total = 0;
    for (let i = 0; i < n; i++) {
      const px = d.images.subarray(i * 784, (i + 1) * 784);
      total += c === "pngjs" ? pngjsBytes(px) : await compressedBytes(px, [1, 28, 28], c);
    }
    const s = (performance.now() - t0) / 1000;
    console.log(`${name} ${c}: ${(total / n).toFixed(1)} bytes/image, ${(n / s).toFixed(0)} images/s`);
  }
}
