#!/usr/bin/env python3
"""PyTorch reference for bench_train_step: the same networks (bench/torch_models.py, the twins of
models/), the same random inputs shape, forward + cross-entropy + backward + SGD-Nesterov step, fp32
eager, median step time after warm-up. Prints one line in bench_train_step's format."""
import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F

from torch_models import make


def step_times(model, x, y, steps, warmup):
    """Seconds of each of `steps` training steps (forward, cross-entropy, backward, SGD-Nesterov) after
    `warmup` untimed ones, sorted. Each step ends by reading the loss back, which waits for a GPU."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)

    def step():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if not math.isfinite(loss.item()):
            raise SystemExit("loss is not finite")
        return time.perf_counter() - t0

    for _ in range(warmup):
        step()
    return sorted(step() for _ in range(steps))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="quicknet")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--naive-densenet", action="store_true", help="DenseNet: no checkpointing")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dev = torch.device(a.device)
    model = make(a.model, a.channels, a.classes, efficient=not a.naive_densenet).to(dev)
    x = torch.randn(a.batch, a.channels, a.size, a.size, device=dev)
    y = torch.arange(a.batch, device=dev) % a.classes
    t = step_times(model, x, y, a.steps, a.warmup)
    med = statistics.median(t)
    naive = " (naive)" if a.naive_densenet and a.model.startswith("densenet") else ""
    print(f"pytorch {torch.__version__} model {a.model}{naive} batch {a.batch} input {a.channels}x{a.size}x{a.size} "
          f"threads {torch.get_num_threads()}: median step {1e3 * med:.1f} ms (min {1e3 * t[0]:.1f}, "
          f"max {1e3 * t[-1]:.1f}), {a.batch / med:.1f} images/s")


if __name__ == "__main__":
    main()
