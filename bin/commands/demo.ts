// `torchts-ood demo`: a short tour of tensors and autograd on this machine's LibTorch.
import type { CommandModule } from "yargs";
import * as torch from "../../lib/tensor/index.js";

export const demoCommand: CommandModule = {
  command: "demo",
  describe: "Show LibTorch tensors and autograd working from TypeScript",
  handler: () => {
    torch.manualSeed(0);
    torch.tidy(() => {
      console.log(
        `LibTorch ${torch.libtorchVersion()}, ${torch.getNumThreads()} threads, CUDA: ${torch.cuda.isAvailable() ? torch.cuda.deviceCount() + " device(s)" : "none"}`,
      );
      // Fit y = 3x - 1 by gradient descent.
      const x = torch.randn([256, 1]);
      const y = x.mul(3).sub(1);
      const w = torch.zeros([1, 1], { requiresGrad: true }),
        b = torch.zeros([1], { requiresGrad: true });
      for (let step = 0; step <= 100; step++) {
        torch.tidy(() => {
          const loss = torch.linear(x, w, b).sub(y).pow(2).mean();
          loss.backward();
          torch.noGrad(() => {
            w.sub_(w.grad!.mul(0.1));
            b.sub_(b.grad!.mul(0.1));
          });
          w.grad = null;
          b.grad = null;
          if (step % 25 === 0) console.log(`step ${String(step).padStart(3)}  loss ${loss.item().toFixed(6)}`);
        });
      }
      console.log(`learned w = ${w.item().toFixed(4)} (3), b = ${b.item().toFixed(4)} (-1)`);
      const { logabsdet } = torch.linalg.slogdet(torch.randn([4, 4]));
      console.log(`log|det| of a random 4x4 matrix: ${logabsdet.item().toFixed(4)}; live tensors: ${torch.memory().liveTensors}`);
    });
  },
};
