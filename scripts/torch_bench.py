#!/usr/bin/python3
"""PyTorch's speed on the four reference models (scripts/nnb_torch_models.py,
the exact definitions of MODELS.md), measured the way `nnbench bench` does:
a cold step, warm-up steps, then timed steps until both a minimum time and a
minimum count are reached; the median step gives samples/s. Training steps
are Adam steps (zero_grad, forward, cross-entropy, backward, step) on real
Fashion-MNIST batches; inference is a no_grad forward. Needs Debian's
python3-torch; run by hand:
    /usr/bin/python3 scripts/torch_bench.py [--threads 2] [--min-time 1]
and compare with
    nnbench bench --model 'mlp;cnn;lstm;transformer' --backend openblas \\
        --mode train --batch 32 --threads 2 --min-time 1
    nnbench bench --model 'mlp;cnn;lstm;transformer' --backend openblas \\
        --mode infer --batch 256 --threads 2 --min-time 1"""
import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nnb_torch_models import MODELS  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--min-time", type=float, default=1.0)
ap.add_argument("--min-iters", type=int, default=10)
ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("--models", default="mlp,cnn,lstm,transformer")
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(1)

root = "/usr/share/datasets/fashion-mnist"
with gzip.open(f"{root}/train-images-idx3-ubyte.gz") as f:
    x_all = np.frombuffer(f.read()[16:], np.uint8)[: 2048 * 784].reshape(-1, 1, 28, 28)
with gzip.open(f"{root}/train-labels-idx1-ubyte.gz") as f:
    y_all = np.frombuffer(f.read()[8:], np.uint8)[:2048].astype(np.int64)
x_all = torch.from_numpy(x_all.astype(np.float32) / 255.0)
y_all = torch.from_numpy(y_all)


def batches(n):
    at = 0
    while True:
        idx = torch.arange(at, at + n) % len(x_all)
        at = (at + n) % len(x_all)
        yield x_all[idx], y_all[idx]


def measure(step, n):
    data = batches(n)
    step(*next(data))  # cold
    for _ in range(args.warmup):
        step(*next(data))
    times, start = [], time.perf_counter()
    while len(times) < args.min_iters or time.perf_counter() - start < args.min_time:
        x, y = next(data)
        t = time.perf_counter()
        step(x, y)
        times.append(time.perf_counter() - t)
    return n / statistics.median(times), len(times)


print(f"torch {torch.__version__}, {args.threads} threads, min time {args.min_time} s")
print(f"{'model':12} {'mode':6} {'batch':>5} {'samples/s':>12} {'steps':>6}")
for name in args.models.split(","):
    model = MODELS[name]()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_step(x, y):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    def infer_step(x, y):
        with torch.no_grad():
            model(x)

    model.train()
    sps, n = measure(train_step, 32)
    print(f"{name:12} {'train':6} {32:5d} {sps:12.1f} {n:6d}", flush=True)
    model.eval()
    sps, n = measure(infer_step, 256)
    print(f"{name:12} {'infer':6} {256:5d} {sps:12.1f} {n:6d}", flush=True)
