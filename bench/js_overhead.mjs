// Where a small op's time goes on our side: `x.add(y).dispose()` as a user calls it, the addon's call and
// free called directly with handles, and the same user call with call and free replaced by JS stubs (what
// is left is the Tensor class, the op wrapper, scopes and dispose, not LibTorch). One thread. Also the
// addon's call with its frees deferred and made 256 at a time, as a free queue would: one N-API call
// fewer per op, but 256 live results, whose memory is no longer the one just freed.
//   npx tsc -p tsconfig.json && node bench/js_overhead.mjs
import * as torch from "../dist/lib/tensor/index.js";
import { native } from "../dist/lib/tensor/native.js";
import { O } from "../dist/lib/tensor/ops.js";
torch.setNumThreads(1);
const x = torch.ones([4]).keep(),
  y = torch.ones([4]).keep();
const id = O.id("aten::add.Tensor");
const time = (label, fn, n) => {
  for (let i = 0; i < n / 10; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  console.log(`${label}: ${(Number(process.hrtime.bigint() - t0) / n).toFixed(1)} ns`);
};
for (let rep = 0; rep < 2; rep++) {
  time("x.add(y).dispose()", () => x.add(y).dispose(), 1e6);
  time("native.free(native.call(add, x, y))", () => native.free(native.call(id, x.handle, y.handle)), 1e6);
  let batch = [];
  time(
    "native.call(add, x, y), freed 256 at a time",
    () => {
      batch.push(native.call(id, x.handle, y.handle));
      if (batch.length === 256) {
        native.free(batch);
        batch = [];
      }
    },
    1e6,
  );
  native.free(batch);
}
const h = 2 ** 52 + 12345;
native.call = () => h; // every call "returns" one handle; free is a no-op
native.free = () => {};
for (let rep = 0; rep < 3; rep++) time("x.add(y).dispose(), JS side only", () => x.add(y).dispose(), 5e6);
