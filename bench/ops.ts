// `npm run bench:ops [-- --json]`: the cases of ../shared/bench/ops_reference.py, same names and shapes,
// one thread, beside the reference run with the Python whose PyTorch the addon links.
import * as torch from "../lib/tensor/index.js";
import { runReference, printComparison } from "./reference.js";

export function opCases(): Record<string, () => void> {
  torch.manualSeed(0);
  const keep = <T extends torch.Tensor>(t: T) => t.keep();
  const x4 = keep(torch.ones([4])),
    y4 = keep(torch.ones([4]));
  const a8 = keep(torch.randn([8, 8])),
    b8 = keep(torch.randn([8, 8]));
  const img = keep(torch.randn([1, 1, 8, 8])),
    ker = keep(torch.randn([1, 1, 3, 3]));
  const w16 = keep(torch.randn([16], { requiresGrad: true })),
    x16 = keep(torch.randn([16]));
  // Each case frees what it makes, as Python's refcounting does when the result is dropped.
  return {
    add: () => x4.add(y4).dispose(),
    mul_scalar: () => x4.mul(2.0).dispose(),
    add_inplace: () => void x4.add_(y4),
    matmul_8x8: () => a8.matmul(b8).dispose(),
    conv2d_8x8: () => torch.conv2d(img, ker, null, { padding: 1 }).dispose(),
    sum_item: () => {
      const s = x4.sum();
      s.item();
      s.dispose();
    },
    autograd_mul_sum_backward: () => {
      const p = x16.mul(w16),
        y = p.sum();
      y.backward();
      w16.grad = null;
      p.dispose();
      y.dispose();
    },
  };
}

/** Microseconds per call: the same protocol as the reference (warm up, then best of 3 runs of >= 0.5 s). */
export function timeCase(fn: () => void, seconds = 0.5): number {
  for (let i = 0; i < 2000; i++) fn();
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    for (;;) {
      for (let i = 0; i < 1000; i++) fn();
      n += 1000;
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      if (dt > seconds) {
        best = Math.min(best, (dt / n) * 1e6);
        break;
      }
    }
  }
  return Math.round(best * 1000) / 1000;
}

export function runOps(seconds = 0.5): Record<string, number> {
  torch.setNumThreads(1);
  const out: Record<string, number> = {};
  for (const [name, fn] of Object.entries(opCases())) out[name] = timeCase(fn, seconds);
  return out;
}

// `node dist/bench/ops.js [--json] [--no-reference] [--seconds S]`: --no-reference times ours only (the
// reference is then run by the caller, e.g. bench/check.ts, alternating the two); --seconds: each of the
// 3 timed runs per case lasts at least S seconds (default 0.5, the reference's).
if (import.meta.url === `file://${process.argv[1]}`) {
  const json = process.argv.includes("--json");
  const at = process.argv.indexOf("--seconds");
  const seconds = at > 0 ? Number(process.argv[at + 1]) : 0.5;
  if (!(seconds > 0)) throw new Error("--seconds needs a positive number");
  const ours = { impl: "torchts-ood", torch: torch.libtorchVersion(), us_per_op: runOps(seconds) };
  const ref = process.argv.includes("--no-reference") ? null : runReference("ops_reference.py", []);
  if (json) {
    console.log(JSON.stringify(ours));
    if (ref) console.log(JSON.stringify(ref));
  } else {
    printComparison("us per op (1 thread)", ours.us_per_op, (ref?.us_per_op as Record<string, number>) ?? null);
  }
}
