// Module: naming, state dicts through safetensors, strict-load errors, modes, dtype moves.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { BatchNorm2d, Conv2d, Linear, Module, ModuleList, StateDictError } from "../../lib/nn/index.js";

class Block extends Module {
  readonly conv = this.module("conv", new Conv2d(2, 2, 3, { padding: "same" }));
  readonly norm = this.module("norm", new BatchNorm2d(2));
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => this.norm.forward(this.conv.forward(x)).relu());
  }
}
class Net extends Module {
  readonly blocks = this.module("blocks", new ModuleList([new Block(), new Block()]));
  readonly head = this.module("head", new Linear(2 * 4 * 4, 3));
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      let h = x;
      for (const b of this.blocks) h = b.forward(h);
      return this.head.forward(h.flatten(1));
    });
  }
}

const dir = mkdtempSync(join(tmpdir(), "torchts-nn-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Module", () => {
  it("names parameters and buffers with dotted paths in registration order and counts them", () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      "blocks.0.conv.weight",
      "blocks.0.conv.bias",
      "blocks.0.norm.weight",
      "blocks.0.norm.bias",
      "blocks.1.conv.weight",
      "blocks.1.conv.bias",
      "blocks.1.norm.weight",
      "blocks.1.norm.bias",
      "head.weight",
      "head.bias",
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual([
      "blocks.0.norm.running_mean",
      "blocks.0.norm.running_var",
      "blocks.0.norm.num_batches_tracked",
      "blocks.1.norm.running_mean",
      "blocks.1.norm.running_var",
      "blocks.1.norm.num_batches_tracked",
    ]);
    const perBlock = 2 * 2 * 9 + 2 + 2 + 2;
    expect(net.numParameters()).toBe(2 * perBlock + 32 * 3 + 3);
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(Object.keys(net.stateDict())).toHaveLength(16);
    expect(net.getParameter("blocks.1.conv.weight")).toBe(net.blocks.get(1).conv.weight);
    expect(net.getModule("blocks.1")).toBe(net.blocks.get(1));
    net.dispose();
  });

  it("round-trips the state dict through a safetensors file: a fresh model gives equal outputs", () => {
    torch.manualSeed(1);
    const a = new Net();
    torch.tidy(() => {
      a.forward(torch.randn([4, 2, 4, 4]).mul(2).add(1));
    }); // moves the running stats
    a.eval();
    const path = join(dir, "net.safetensors");
    a.save(path, { note: "hello" });
    torch.manualSeed(2);
    const b = new Net().eval();
    const x = torch.randn([3, 2, 4, 4]);
    expect(torch.tidy(() => a.forward(x).sub(b.forward(x)).abs().max().item())).toBeGreaterThan(1e-3);
    expect(b.load(path)).toEqual({ metadata: { note: "hello" }, missingKeys: [], unexpectedKeys: [] });
    torch.tidy(() => expect(a.forward(x).tolist()).toEqual(b.forward(x).tolist()));
    expect(b.getBuffer("blocks.0.norm.num_batches_tracked").item()).toBe(1);
    a.dispose();
    b.dispose();
  });

  it("load(path, {strict: false}) reports the missing and unexpected names it skipped", () => {
    const a = new Net();
    const sd: Record<string, torch.Tensor> = { ...a.stateDict(), extra: torch.ones([1]) };
    delete sd["head.bias"];
    const path = join(dir, "partial.safetensors");
    torch.saveSafetensors(path, sd);
    const r = new Net().load(path, { strict: false });
    expect([r.missingKeys, r.unexpectedKeys]).toEqual([["head.bias"], ["extra"]]);
    a.dispose();
  });

  it("rejects a strict load naming missing and unexpected keys and shape/dtype mismatches, changing nothing", () => {
    const net = new Net();
    const sd = { ...net.stateDict() };
    const before = net.head.weight.tolist();
    const other = torch.zeros([3, 32]);
    const missing = { ...sd, "head.weight": other };
    delete (missing as Record<string, torch.Tensor>)["blocks.1.conv.bias"];
    expect(() => net.loadStateDict(missing)).toThrow(/Missing key\(s\) in state_dict: "blocks\.1\.conv\.bias"/);
    expect(net.head.weight.tolist()).toEqual(before); // checked before anything was copied
    const extra = { ...sd, "head.scale": other };
    expect(() => net.loadStateDict(extra)).toThrow(/Unexpected key\(s\) in state_dict: "head\.scale"/);
    const wrongShape = { ...sd, "head.weight": torch.zeros([3, 31]) };
    expect(() => net.loadStateDict(wrongShape)).toThrow(/size mismatch for head\.weight: .*shape \[3, 31\].*current model is \[3, 32\]/);
    const wrongDtype = { ...sd, "head.weight": torch.zeros([3, 32], { dtype: "float64" }) };
    expect(() => net.loadStateDict(wrongDtype)).toThrow(StateDictError);
    expect(() => net.loadStateDict(wrongDtype)).toThrow(/dtype mismatch for head\.weight: the checkpoint has float64, the current model has float32/);
    // Non-strict: names may differ, and are reported.
    const res = net.loadStateDict(extra, { strict: false });
    expect(res.unexpectedKeys).toEqual(["head.scale"]);
    const res2 = net.loadStateDict(missing, { strict: false });
    expect(res2.missingKeys).toEqual(["blocks.1.conv.bias"]);
    expect(net.head.weight.abs().sum().item()).toBe(0); // the zeros were copied in
    net.dispose();
  });

  it("switches train/eval recursively, which changes BatchNorm's behaviour", () => {
    const net = new Net();
    expect(net.modules().every((m) => m.training)).toBe(true);
    net.eval();
    expect(net.modules().some((m) => m.training)).toBe(false);
    const x = torch.randn([2, 2, 4, 4]);
    const e1 = net.forward(x).tolist();
    expect(net.getBuffer("blocks.0.norm.num_batches_tracked").item()).toBe(0);
    net.train();
    expect(net.blocks.get(0).norm.training).toBe(true);
    const t1 = net.forward(x).tolist();
    expect(t1).not.toEqual(e1);
    expect(net.getBuffer("blocks.0.norm.num_batches_tracked").item()).toBe(1);
    net.dispose();
  });

  it("casts floating parameters and buffers with to(), keeping them trainable and integer buffers as they are", () => {
    const net = new Net();
    const before = net.head.weight.tolist();
    net.to("float64");
    expect(net.parameters().every((p) => p.dtype === "float64" && p.requiresGrad)).toBe(true);
    expect(net.getBuffer("blocks.0.norm.running_var").dtype).toBe("float64");
    expect(net.getBuffer("blocks.0.norm.num_batches_tracked").dtype).toBe("int64");
    const w = net.head.weight.tolist() as number[][];
    (before as number[][]).forEach((row, i) => row.forEach((v, j) => expect(w[i]![j]).toBeCloseTo(v, 6)));
    net.to("cpu");
    expect(net.head.weight.device).toBe("cpu");
    const y = net.forward(torch.randn([1, 2, 4, 4], { dtype: "float64" }));
    expect(y.dtype).toBe("float64");
    net.dispose();
  });

  it("replaces a parameter (disposing the old one), clears gradients and rejects clashing names", () => {
    const lin = new Linear(2, 2);
    const old = lin.weight;
    lin.setParameter("weight", torch.ones([2, 2]));
    expect(old.isDisposed).toBe(true);
    expect(lin.weight.requiresGrad).toBe(true);
    lin
      .forward(torch.ones([1, 2]))
      .sum()
      .backward();
    expect(lin.weight.grad).not.toBeNull();
    lin.zeroGrad();
    expect(lin.weight.grad).toBeNull();
    class Bad extends Module {
      constructor() {
        super();
        this.param("w", torch.zeros([1]));
        this.buffer("w", torch.zeros([1]));
      }
    }
    expect(() => new Bad()).toThrow(/already registered/);
    lin.dispose();
    expect(lin.parameters()).toEqual([]);
  });
});
