// CUDA: runs where this LibTorch sees a GPU (the lent GPU machine); skipped elsewhere with the reason.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";

const hasCuda = torch.cuda.isAvailable();
describe.skipIf(!hasCuda)("CUDA (skipped: this machine's LibTorch sees no CUDA device)", () => {
  it("moves tensors to the GPU and back, computing the same values", () => {
    torch.tidy(() => {
      const a = torch.randn([64, 64]);
      const g = a.cuda();
      expect(g.device).toBe("cuda:0");
      const diff = g.matmul(g).cpu().sub(a.matmul(a)).abs().max().item();
      expect(diff).toBeLessThan(1e-3);
    });
  });
  it("runs autograd on the GPU", () => {
    torch.tidy(() => {
      const x = torch.ones([3], { device: "cuda", requiresGrad: true });
      x.mul(x).sum().backward();
      expect(x.grad!.cpu().tolist()).toEqual([2, 2, 2]);
    });
  });
  it("a CPU/GPU mix is a clear error", () => {
    expect(() => torch.ones([2]).add(torch.ones([2], { device: "cuda" }))).toThrow(/device/);
  });
});
