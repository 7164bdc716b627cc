// Deterministic memory: scopes free what they made, dispose() is immediate and idempotent.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";

describe("scopes and dispose", () => {
  it("tidy frees everything made inside except what it returns", () => {
    const start = torch.memory();
    const kept = torch.tidy(() => {
      const a = torch.ones([100]);
      const b = a.mul(2).add(1);
      return { b, list: [a.sum()] };
    });
    expect(torch.memory().liveTensors).toBe(start.liveTensors + 2);
    expect(torch.tidy(() => kept.b.sum().item())).toBe(300);
    torch.dispose(kept);
    expect(torch.memory()).toEqual(start);
  });

  it("nests: what an inner scope returns belongs to the outer one", () => {
    const start = torch.memory();
    torch.tidy(() => {
      const inner = torch.tidy(() => torch.ones([10]).mul(3));
      expect(inner.isDisposed).toBe(false);
      const mid = torch.memory().liveTensors;
      torch.tidy(() => {
        inner.add(1);
      });
      expect(torch.memory().liveTensors).toBe(mid);
    });
    expect(torch.memory()).toEqual(start);
  });

  it("a tensor nested however deep in the result survives, and cycles end the search", () => {
    // More than 8 levels deep, a returned tensor was disposed.
    const start = torch.memory().liveTensors;
    type Deep = { next?: Deep; t?: torch.Tensor; self?: Deep };
    const out = torch.tidy(() => {
      const root: Deep = {};
      let node = root;
      for (let i = 0; i < 50; i++) node = node.next = {};
      node.t = torch.ones([2]).mul(3);
      root.self = root; // a cycle
      return [[[[[[[[[[[root]]]]]]]]]]];
    });
    let node: Deep = out[0]![0]![0]![0]![0]![0]![0]![0]![0]![0]![0]!;
    while (node.next) node = node.next;
    expect(node.t!.isDisposed).toBe(false);
    expect(node.t!.tolist()).toEqual([3, 3]);
    expect(torch.memory().liveTensors).toBe(start + 1);
    torch.dispose(out);
    expect(node.t!.isDisposed).toBe(true);
    expect(torch.memory().liveTensors).toBe(start);
  });

  it("keeps tensors marked keep(), frees on throw", () => {
    const start = torch.memory();
    const k = torch.tidy(() => {
      torch.zeros([3]).keep();
      return 1;
    });
    expect(k).toBe(1);
    expect(torch.memory().liveTensors).toBe(start.liveTensors + 1);
    expect(() =>
      torch.tidy(() => {
        torch.ones([5]);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(torch.memory().liveTensors).toBe(start.liveTensors + 1);
  });

  it("refuses an async function: its tensors would be freed while it still awaits (a clear error, as tfjs)", async () => {
    const start = torch.memory();
    let usedAfterAwait: unknown, made: torch.Tensor | undefined;
    const scoped = async () => {
      const a = (made = torch.ones([4]));
      await new Promise((r) => setTimeout(r, 1));
      try {
        usedAfterAwait = torch.tidy(() => a.sum().item());
      } catch (e) {
        usedAfterAwait = e;
      }
      return a;
    };
    expect(() => torch.tidy(scoped)).toThrow(/tidy\(\): the function returned a Promise/);
    await new Promise((r) => setTimeout(r, 5));
    // The async body ran on (it cannot be stopped), and the tensor it made before the await was not freed under it.
    expect(usedAfterAwait).toBe(4);
    expect(torch.memory().liveTensors).toBe(start.liveTensors + 1);
    made!.dispose();
    expect(torch.memory()).toEqual(start);
  });

  it("counts bytes and returns to the start after a training-like loop", () => {
    const w = torch.randn([64, 64], { requiresGrad: true });
    const start = torch.memory();
    for (let i = 0; i < 50; i++) {
      torch.tidy(() => {
        const loss = torch.randn([32, 64]).matmul(w).tanh().pow(2).mean();
        loss.backward();
        torch.noGrad(() => w.sub_(w.grad!.mul(0.01)));
        w.grad = null;
      });
    }
    expect(torch.memory()).toEqual(start);
    expect(torch.memory().bytes).toBeGreaterThanOrEqual(64 * 64 * 4);
  });

  it("dispose() is safe twice; a disposed tensor is a clear error", () => {
    const a = torch.ones([2]);
    a.dispose();
    a.dispose();
    expect(a.isDisposed).toBe(true);
    expect(() => a.add(a)).toThrow(/disposed/);
    expect(() => a.item()).toThrow(/disposed/);
    expect(() => a.shape).toThrow(/disposed/);
    // the slot is reused by the next tensor, and the stale handle still cannot reach it
    const b = torch.ones([2]);
    expect(() => a.sum()).toThrow(/disposed/);
    expect(b.sum().item()).toBe(2);
  });

  it("the finalizer frees tensors nobody disposed once they are garbage", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    // vitest runs without --expose-gc by default; use v8's flag at run time to get it.
    const v8 = await import("node:v8");
    const vm = await import("node:vm");
    v8.setFlagsFromString("--expose-gc");
    const collect = gc ?? (vm.runInNewContext("gc") as () => void);
    const start = torch.memory().liveTensors;
    (() => {
      for (let i = 0; i < 100; i++) torch.ones([1000]);
    })();
    await new Promise((r) => setTimeout(r, 0)); // let the deferred registration run
    for (let i = 0; i < 10 && torch.memory().liveTensors > start; i++) {
      // earlier tests' garbage may go too
      collect();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(torch.memory().liveTensors).toBeLessThanOrEqual(start);
  });
});
