#!/usr/bin/python3
"""PyTorch CPU throughput of the four reference models, measured the way
`nnbench bench` measures a backend, for side-by-side comparison.

Training: one Adam step (zero_grad, forward, cross-entropy, backward, step)
per iteration. Inference: one forward pass under torch.inference_mode().
Per case: one cold iteration, --warmup iterations, then iterations until
both --min-time seconds and --min-iters iterations are reached; the figure
is batch / median iteration time, as nnbench's samples_per_s. Inputs are
random Fashion-MNIST-shaped batches (1x28x28 in [0,1), labels in [0,10)):
throughput does not depend on the pixel values.

Needs Debian's python3-torch (run with /usr/bin/python3). Example:
    /usr/bin/python3 scripts/torch_bench.py --threads 2 --repeat 3
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from nnb_torch_models import MODELS  # noqa: E402


def measure(step, warmup, min_time, min_iters):
    """Median seconds of one call to step(), after a cold call and warm-up."""
    step()
    for _ in range(warmup):
        step()
    samples, start = [], time.perf_counter()
    while len(samples) < min_iters or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        step()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def train_case(name, batch, gen, args):
    model = MODELS[name]()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    x = torch.rand(batch, 1, 28, 28, generator=gen)
    y = torch.randint(0, 10, (batch,), generator=gen)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return batch / measure(step, args.warmup, args.min_time, args.min_iters)


def infer_case(name, batch, gen, args):
    model = MODELS[name]()
    model.eval()
    x = torch.rand(batch, 1, 28, 28, generator=gen)

    def step():
        with torch.inference_mode():
            model(x)

    return batch / measure(step, args.warmup, args.min_time, args.min_iters)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="mlp,cnn,lstm,transformer")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train-batch", type=int, default=32)
    p.add_argument("--infer-batch", type=int, default=256)
    p.add_argument("--min-time", type=float, default=1.0)
    p.add_argument("--min-iters", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeat", type=int, default=1,
                   help="repeat every case and report the median of the repeats")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"train batch {args.train_batch}, infer batch {args.infer_batch}, "
          f"min-time {args.min_time} s, min-iters {args.min_iters}, warm-up {args.warmup}, "
          f"median of {args.repeat} repeat(s)")
    print(f"{'model':<12} {'train samples/s':>16} {'infer samples/s':>16}")
    for name in args.models.split(","):
        if name not in MODELS:
            p.error(f"--models: unknown model '{name}' (expected {', '.join(MODELS)})")
        tr = statistics.median(train_case(name, args.train_batch, gen, args)
                               for _ in range(args.repeat))
        inf = statistics.median(infer_case(name, args.infer_batch, gen, args)
                                for _ in range(args.repeat))
        print(f"{name:<12} {tr:>16.0f} {inf:>16.0f}", flush=True)


if __name__ == "__main__":
    main()
