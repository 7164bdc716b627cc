#!/usr/bin/env python3
"""The small-op case conv2d_8x8 (../shared/bench/ops_reference.py) through aten::conv2d and through
aten::convolution, which conv2d calls: what calling convolution directly could save, as Python shows it.
Python parses convolution's nine arguments against conv2d's seven, so its binding cost is in both numbers.
One thread; best of 3 runs of >= 0.5 s, microseconds per call.   python3 bench/conv_entry.py"""
import time
import torch

torch.set_num_threads(1)
img, ker = torch.randn(1, 1, 8, 8), torch.randn(1, 1, 3, 3)


def bench(fn, seconds=0.5):
    for _ in range(2000):
        fn()
    n, t0 = 0, time.perf_counter()
    while True:
        for _ in range(1000):
            fn()
        n += 1000
        dt = time.perf_counter() - t0
        if dt > seconds:
            return dt / n * 1e6


for name, fn in [
    ("conv2d", lambda: torch.conv2d(img, ker, padding=1)),
    ("convolution", lambda: torch.convolution(img, ker, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1)),
]:
    print(f"{name}: {min(bench(fn) for _ in range(3)):.3f} us")
