// The JS side's share of a small op: `x.add(y).dispose()` with the addon's call and free replaced by JS
// stubs, so what is timed is the Tensor class, the op wrapper, scopes and dispose, not LibTorch.
//   npx tsc -p tsconfig.json && node bench/js_overhead.mjs
import * as torch from "../dist/lib/tensor/index.js";
import { native } from "../dist/lib/tensor/native.js";
const x = torch.ones([4]).keep(),
  y = torch.ones([4]).keep();
const h = 2 ** 52 + 12345;
native.call = () => h; // every call "returns" one handle; free is a no-op
native.free = () => {};
const N = 5e6;
for (let rep = 0; rep < 3; rep++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) x.add(y).dispose();
  console.log(`x.add(y).dispose(), JS side only: ${(Number(process.hrtime.bigint() - t0) / N).toFixed(1)} ns`);
}
