// Threads are isolated and may die at any time: terminating a worker inside a native call never aborts
// the process, a tensor handle of one thread is an error in another, and each thread has its own random
// generator. Child processes run what could abort, so an abort fails a test instead of the test runner.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../paths.js";
import { runModule, TENSOR_INDEX as tensorIndex, writeModule } from "./child.js";

describe("worker threads", () => {
  it("terminating a worker inside native calls never aborts the process", () => {
    // Each worker loops over small ops (sync, and async ones in flight); the main thread terminates it
    // mid-loop, twelve times. Before NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: exit 134, "terminate called
    // after throwing an instance of 'Napi::Error'".
    const busyWorker = writeModule(
      "busy-worker.mjs",
      `
      import * as torch from ${JSON.stringify(tensorIndex)};
      import { parentPort, workerData } from "node:worker_threads";
      const x = torch.ones([64, 64]);
      parentPort.postMessage("running");
      if (workerData.async) for (;;) { const y = await torch.callAsync("aten::matmul", x, x); y.dispose(); torch.tidy(() => x.add(1).shape); }
      else for (;;) torch.tidy(() => x.add(1).shape);`,
    );
    const r = runModule(
      "terminate.mjs",
      `
      import { Worker } from "node:worker_threads";
      for (let i = 0; i < 12; i++) {
        const w = new Worker(${JSON.stringify(busyWorker)}, { workerData: { async: i % 2 === 1 } });
        await new Promise((resolve) => w.once("message", resolve));
        await new Promise((resolve) => setTimeout(resolve, 5 + (i % 4) * 7));
        await w.terminate();
      }
      console.log("survived");`,
    );
    expect(r.stderr).not.toMatch(/terminate called|Napi::Error/);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("survived");
  });

  it("a handle from another thread is an error, not that thread's tensor", () => {
    const r = runModule(
      "foreign.mjs",
      `
      import * as torch from ${JSON.stringify(tensorIndex)};
      import { Worker } from "node:worker_threads";
      const mine = torch.full([1], 123);
      const w = new Worker(\`
        const { parentPort, workerData } = require("node:worker_threads");
        const t = require(workerData.addon);
        const own = t.call(t.op("aten::full"), [1], 777);  // the worker's first tensor: same slot as the main thread's
        let out;
        try { out = { value: t.item(t.call(t.op("aten::clone"), workerData.handle)) }; } catch (e) { out = { error: e.message }; }
        parentPort.postMessage(out);\`, { eval: true, workerData: { addon: ${JSON.stringify(join(REPO_ROOT, "build/Release/torchts.node"))}, handle: mine.handle } });
      const out = await new Promise((resolve, reject) => { w.once("message", resolve); w.once("error", reject); });
      console.log(JSON.stringify(out));`,
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.value).toBeUndefined();
    expect(out.error).toMatch(/belongs to another thread/);
  });

  it("a tag is never shared by two live threads, however many threads came and went", () => {
    // The main thread is environment 1; 254 workers load the addon and exit one after another; the next one
    // is environment 256, which a tag counted modulo 255 gave the main thread's tag: it read 777, its own
    // tensor in the same slot. Tags of exited environments are free again, so it must refuse the handle.
    const r = runModule(
      "tags.mjs",
      `
      import * as torch from ${JSON.stringify(tensorIndex)};
      import { Worker } from "node:worker_threads";
      const addon = ${JSON.stringify(join(REPO_ROOT, "build/Release/torchts.node"))};
      const mine = torch.full([1], 123);
      for (let i = 0; i < 254; i++) {
        const w = new Worker("require(require('node:worker_threads').workerData.addon).version()", { eval: true, workerData: { addon } });
        await new Promise((resolve, reject) => { w.once("exit", resolve); w.once("error", reject); });
      }
      const w = new Worker(\`
        const { parentPort, workerData } = require("node:worker_threads");
        const t = require(workerData.addon);
        t.call(t.op("aten::full"), [1], 777);
        try { parentPort.postMessage({ value: t.item(workerData.handle) }); } catch (e) { parentPort.postMessage({ error: e.message }); }\`,
        { eval: true, workerData: { addon, handle: mine.handle } });
      console.log(JSON.stringify(await new Promise((resolve) => w.once("message", resolve))));`,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).error).toMatch(/belongs to another thread/);
  }, 180_000); // 255 worker start-ups: about 8 s alone, much longer on a loaded machine

  it("a handle of a worker that has exited is stale in the next worker with its tag", () => {
    // Worker A (the lowest free tag) makes a tensor and exits; worker B gets A's tag and makes its own
    // tensor in the same slot. Before tags had generations, A's handle read B's tensor (777).
    const r = runModule(
      "tag-generation.mjs",
      `
      import { Worker } from "node:worker_threads";
      const addon = ${JSON.stringify(join(REPO_ROOT, "build/Release/torchts.node"))};
      const run = (src, data) => new Promise((resolve, reject) => {
        const w = new Worker(src, { eval: true, workerData: { addon, ...data } });
        let out; w.once("message", (m) => (out = m)); w.once("error", reject); w.once("exit", () => resolve(out));
      });
      const prelude = "const { parentPort, workerData } = require('node:worker_threads'); const t = require(workerData.addon);";
      const handle = await run(prelude + "parentPort.postMessage(t.call(t.op('aten::full'), [1], 111));");
      const out = await run(prelude + \`
        t.call(t.op("aten::full"), [1], 777);
        try { parentPort.postMessage({ value: t.item(workerData.handle) }); } catch (e) { parentPort.postMessage({ error: e.message }); }\`, { handle });
      console.log(JSON.stringify(out));`,
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.value).toBeUndefined();
    expect(out.error).toMatch(/disposed \(or its thread has exited\)/);
  });

  it("a finalizer of another thread's handle never ends the process", () => {
    // A worker's handle wrapped in a Tensor on the main thread, then collected: the finalizer's free()
    // threw "belongs to another thread" from a FinalizationRegistry callback, an uncaught exception.
    const r = runModule(
      "foreign-finalizer.mjs",
      `
      import * as torch from ${JSON.stringify(tensorIndex)};
      import { Worker } from "node:worker_threads";
      const w = new Worker(\`
        const { parentPort } = require("node:worker_threads");
        import(${JSON.stringify(tensorIndex)}).then((torch) => {
          const keep = torch.ones([4]);
          parentPort.postMessage(keep.handle);
          parentPort.once("message", () => process.exit(0));
        });\`, { eval: true });
      const handle = await new Promise((resolve) => w.once("message", resolve));
      let disposeError = "";
      try { new torch.Tensor(handle).dispose(); } catch (e) { disposeError = e.message; }
      (() => { for (let i = 0; i < 10; i++) new torch.Tensor(handle); })();
      await new Promise((resolve) => setTimeout(resolve, 10)); // the deferred finalizer registration
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((resolve) => setTimeout(resolve, 10)); }
      w.postMessage("done");
      console.log(JSON.stringify({ survived: true, disposeError }));`,
      { nodeArgs: ["--expose-gc"] },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.survived).toBe(true);
    expect(out.disposeError).toMatch(/belongs to another thread/);
  });

  it("each thread has its own random generator: a seed in one does not move another's draws", () => {
    // Worker A seeds 7; then worker B seeds 8 and draws; then A draws. With one generator for the process,
    // A's draws would follow B's seed.
    const r = runModule(
      "seeds.mjs",
      `
      import * as torch from ${JSON.stringify(tensorIndex)};
      import { Worker } from "node:worker_threads";
      const src = \`
        import * as torch from ${JSON.stringify(tensorIndex)};
        import { parentPort } from "node:worker_threads";
        parentPort.on("message", (m) => {
          if (m.seed !== undefined) { torch.manualSeed(m.seed); parentPort.postMessage("seeded"); }
          else parentPort.postMessage(torch.tidy(() => torch.randn([4]).tolist()));
        });\`;
      const file = new URL("data:text/javascript," + encodeURIComponent(src));
      const ask = (w, m) => new Promise((resolve) => { w.once("message", resolve); w.postMessage(m); });
      const a = new Worker(file), b = new Worker(file);
      await ask(a, { seed: 7 });
      await ask(b, { seed: 8 });
      const bDraw = await ask(b, {});
      const aDraw = await ask(a, {});
      torch.manualSeed(7);
      const expected = torch.tidy(() => torch.randn([4]).tolist());
      console.log(JSON.stringify({ aDraw, bDraw, expected }));
      await a.terminate(); await b.terminate();`,
    );
    expect(r.status, r.stderr).toBe(0);
    const { aDraw, bDraw, expected } = JSON.parse(r.stdout);
    expect(aDraw).toEqual(expected);
    expect(bDraw).not.toEqual(expected);
  });
});

describe("async ops", () => {
  it("registering ops while an async op runs leaves the running op intact", () => {
    // The async worker holds its op entry; registering new ops must not move it. MALLOC_PERTURB_ makes
    // glibc fill freed memory, so a dangling entry fails loudly instead of reading stale bytes.
    const r = runModule(
      "op-registry.mjs",
      `
      import * as torch from ${JSON.stringify(tensorIndex)};
      import { native } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, "dist/lib/tensor/native.js")).href)};
      const schemas = ["abs", "neg", "exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sqrt", "rsqrt",
        "floor", "ceil", "round", "trunc", "frac", "sign", "erf", "erfc", "expm1", "log1p", "log2", "log10",
        "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "reciprocal", "square", "t", "clone",
        "detach", "flatten.using_ints", "ravel", "numel", "sum", "mean", "std", "var", "max", "min", "argmax",
        "argmin", "all", "any", "logsumexp", "softmax.int", "log_softmax.int", "cumsum", "cumprod", "flip", "roll"];
      const a = torch.randn([400, 400]);
      let bad = 0, registered = 0;
      for (let round = 0; round < 4; round++) {
        const p = torch.callAsync("aten::matmul", a, a);
        // New entries each round (plain, in-place, out=): some names have no such overload, which is fine.
        for (const s of schemas) try { native.op("aten::" + s + ["", "_", ".out", ".default"][round]); registered++; } catch {}
        const c = await p;
        bad += torch.tidy(() => c.sub(a.matmul(a)).abs().max().item()) > 1e-3 ? 1 : 0;
        c.dispose();
      }
      console.log(JSON.stringify({ bad, enough: registered > 100 }));`,
      { env: { MALLOC_PERTURB_: "165", TORCHTS_OOD_MALLOC: "system" } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ bad: 0, enough: true });
  });
});
