#!/usr/bin/env python3
"""Forward+backward time of single convolutions, NCHW against channels_last, in PyTorch on one thread:
the shapes of a glow-small coupling net (batch 32). Why lib/nn/conv.ts runs CPU convs channels-last.
  python3 bench/conv_layout.py"""
import torch, time
torch.set_num_threads(1)
def bench(fmt, cin, cout, k, hw, B=32):
    x = torch.randn(B, cin, hw, hw, requires_grad=True)
    conv = torch.nn.Conv2d(cin, cout, k, padding=k//2)
    if fmt == "cl":
        x = x.detach().to(memory_format=torch.channels_last).requires_grad_()
        conv = conv.to(memory_format=torch.channels_last)
    for _ in range(3): conv(x).sum().backward()
    t = time.perf_counter(); n = 20
    for _ in range(n): conv(x).sum().backward()
    return (time.perf_counter() - t) / n * 1e3
for (cin, cout, k, hw) in [(2,128,3,14),(128,128,1,14),(128,4,3,14),(4,128,3,7),(128,128,1,7),(128,8,3,7)]:
    print(cin, cout, k, hw, "nchw %.2f ms  cl %.2f ms" % (bench("nchw", cin, cout, k, hw), bench("cl", cin, cout, k, hw)))
