// The addon is context-aware: it loads and works in several worker_threads at once, each with its own
// tensor table; and single heavy ops can run off the event loop.
import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import * as torch from "../../lib/tensor/index.js";

const native = fileURLToPath(new URL("../../build/Release/torchts.node", import.meta.url));

// Plain JS in the worker (vitest's TS transform does not reach workers): the native API directly.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const t = require(workerData.native);
const ones = t.op("aten::ones"), mm = t.op("aten::matmul"), sum = t.op("aten::sum");
let total = 0;
for (let i = 0; i < 200; i++) {
  const a = t.call(ones, [16, 16]);
  const b = t.call(mm, a, a);
  const s = t.call(sum, b);
  total += t.item(s);
  t.free([a, b, s]);
}
parentPort.postMessage({ total, live: t.stats().liveTensors });
`;

const runWorker = () =>
  new Promise<{ total: number; live: number }>((resolve, reject) => {
    const w = new Worker(workerSource, { eval: true, workerData: { native } });
    w.once("message", resolve);
    w.once("error", reject);
  });

describe("threads", () => {
  it("works in two worker_threads at once", async () => {
    const [a, b] = await Promise.all([runWorker(), runWorker()]);
    expect(a).toEqual({ total: 200 * 16 * 16 * 16, live: 0 });
    expect(b).toEqual(a);
    // and still on the main thread afterwards
    expect(torch.tidy(() => torch.ones([2]).sum().item())).toBe(2);
  });

  it("runs an op on the thread pool and resolves with its result", async () => {
    const a = torch.randn([256, 256]);
    const p = torch.callAsync("aten::matmul", a, a);
    expect(p).toBeInstanceOf(Promise);
    const c = await p;
    expect(c.shape).toEqual([256, 256]);
    expect(torch.tidy(() => c.sub(a.matmul(a)).abs().max().item())).toBeLessThan(1e-3);
    await expect(torch.callAsync("aten::matmul", a, torch.ones([3]))).rejects.toThrow(/size mismatch|cannot be multiplied|shapes/);
    torch.dispose([a, c]);
  });

  it("setNumThreads changes LibTorch's intra-op threads", () => {
    const before = torch.getNumThreads();
    torch.setNumThreads(1);
    expect(torch.getNumThreads()).toBe(1);
    torch.setNumThreads(before);
  });
});
