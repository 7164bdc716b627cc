#!/usr/bin/env python3
"""glow_reference.py's step split into forward (with the loss), backward (with zero_grad), and the update
with the loss read-back: the Python side of `npm run bench:phases`. Same model, same spec, same loop.
Usage: glow_phases.py BENCH_DIR [--threads N] [--steps 30] [--warmup 3]"""
import argparse, json, math, os, sys, time
import torch

ap = argparse.ArgumentParser()
ap.add_argument("bench_dir")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--steps", type=int, default=30)
ap.add_argument("--warmup", type=int, default=3)
args = ap.parse_args()
sys.path.insert(0, args.bench_dir)
import glow_reference as g  # noqa: E402

spec = json.load(open(os.path.join(args.bench_dir, "glow_small.json")))
torch.set_num_threads(args.threads)
torch.manual_seed(0)
model = g.Glow(spec)
opt = torch.optim.RMSprop(model.parameters(), lr=spec["lr"])
shape = (spec["batch"], spec["channels"], spec["size"], spec["size"])
d = shape[1] * shape[2] * shape[3]
pixels = torch.randint(0, 256, shape).float()
parts = {"forward": [], "backward": [], "update": []}
for i in range(args.warmup + args.steps):
    t0 = time.perf_counter()
    x = pixels / 256.0 + torch.rand(shape) / 256.0 - 0.5
    logpz, logdet = model(x)
    loss = -((logpz + logdet - d * math.log(256.0)).mean()) / (d * math.log(2.0))
    t1 = time.perf_counter()
    opt.zero_grad()
    loss.backward()
    t2 = time.perf_counter()
    opt.step()
    loss.item()
    t3 = time.perf_counter()
    if i >= args.warmup:
        parts["forward"].append(t1 - t0); parts["backward"].append(t2 - t1); parts["update"].append(t3 - t2)
med = lambda v: round(sorted(v)[len(v) // 2] * 1000, 2)
print(json.dumps({"impl": "pytorch-python", "threads": args.threads, "phases_ms": {k: med(v) for k, v in parts.items()}}))
