// Memory: forward/backward passes and optimizer steps inside tidy leave no tensors behind, and dispose()
// frees everything a model and its optimizer hold. Every tensor in this file is scoped, so the live count
// is exact.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { BatchNorm2d, Conv2d, HighwayNetwork, MaskedConv2d, Module, Sequential, ReLU, Dropout } from "../../lib/nn/index.js";
import { ActNorm, InvertibleConv1x1LU } from "../../lib/models/flows/index.js";
import { Adam } from "../../lib/optim/index.js";

class Flowish extends Module {
  readonly norm = this.module("norm", new ActNorm(4));
  readonly mix = this.module("mix", new InvertibleConv1x1LU(4));
  readonly nn = this.module("nn", new HighwayNetwork(2, 4, { hidden: 8 }));
  readonly pix = this.module(
    "pix",
    new Sequential(new MaskedConv2d(4, 6, 3, { maskType: "A" }), new ReLU(), new Dropout(0.1), new Conv2d(6, 4, 1), new BatchNorm2d(4)),
  );
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      const [h, ld1] = this.norm.forward(x);
      const [y, ld2] = this.mix.forward(h);
      const shift = this.nn.forward(y.narrow(1, 0, 2));
      return this.pix.forward(y.add(shift)).sum().add(ld1.sum()).add(ld2.sum());
    });
  }
}

const live = () => torch.memory().liveTensors;

describe("memory", () => {
  it("returns to the starting live-tensor count after scoped passes and dispose()", () => {
    const start = live();
    const model = new Flowish();
    const built = live();
    expect(built - start).toBe(model.namedParameters().length + model.namedBuffers().length);
    for (let i = 0; i < 3; i++)
      torch.tidy(() => {
        model.forward(torch.randn([2, 4, 6, 6])).backward();
      });
    expect(live()).toBe(built);
    const opt = new Adam(model.parameters(), { lr: 1e-3 });
    torch.tidy(() => {
      model.forward(torch.randn([2, 4, 6, 6])).backward();
    });
    opt.step();
    const withState = live();
    expect(withState - built).toBe(2 * model.parameters().length);
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      torch.tidy(() => {
        model.forward(torch.randn([2, 4, 6, 6])).backward();
      });
      opt.step();
    }
    expect(live()).toBe(withState);
    torch.tidy(() => {
      model.eval();
      model.forward(torch.randn([1, 4, 6, 6]));
      model.train();
    });
    expect(live()).toBe(withState);
    opt.dispose();
    model.dispose();
    expect(live()).toBe(start);
  });

  it("Sequential frees each intermediate activation once the next layer has used it, and backward still works", () => {
    // A layer that records how many tensors are alive when it runs: with eager freeing the count stays
    // level along the chain instead of growing by one per layer.
    const seen: number[] = [];
    class Probe extends Module {
      forward(x: torch.Tensor): torch.Tensor {
        seen.push(live());
        return x.mul(1);
      }
    }
    const lin = new Conv2d(2, 2, 1);
    const seq = new Sequential(lin, new Probe(), new Probe(), new ReLU(), new Probe(), new Probe());
    const start = live();
    torch.tidy(() => {
      const x = torch.randn([1, 2, 3, 3]).requiresGrad_(true);
      const y = seq.forward(x);
      y.sum().backward();
      // d/dx of sum(relu(W x + b)) by autograd through the freed intermediates, against a direct formula.
      const mask = lin.forward(x).gt(0).float();
      const expected = torch.conv2d(mask, lin.weight.permute(1, 0, 2, 3));
      expect(x.grad!.sub(expected).abs().max().item()).toBeLessThan(1e-6);
    });
    expect(new Set(seen).size).toBe(1);
    expect(live()).toBe(start);
    seq.dispose();
  });
});
