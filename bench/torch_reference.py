#!/usr/bin/env python3
"""PyTorch reference for the GPU benchmarks, on the same GPU, printed side by side with ours.

mixup: lam * x + (1 - lam) * x[perm] (the usual mixup-C idiom, four kernels), and the stitching modes
by slicing (out = x.clone(); out[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]), for the batch sizes
of bench_mixup on 3x32x32 fp32 images. Timed like bench_mixup: CUDA events around a run of calls that
rotates over enough input sets to exceed L2 twice, median over repetitions, after a warm-up.

train: the fp32 eager training step (forward, cross-entropy, backward, SGD-Nesterov) of the identical
PreAct ResNet-18 defined in torch_train_step.py, with TF32 off as in our engine, median step time with
the GPU synchronised at the end of each step, like bench_train_step.

Our figures come from the JSON files written by `bench_mixup --json` and `bench_train_step --json`;
ratios > 1 mean we are faster."""
import argparse
import json
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train_step import make, step_times  # noqa: E402  (the same networks and step as bench_train_step)

C, H, W = 3, 32, 32


def time_calls(fn, sets, reps):
    """Median and minimum microseconds per call over `reps` runs that rotate over all sets."""
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for s in sets:
        fn(s)
    inner = max(len(sets), 10)
    times = []
    for _ in range(reps):
        start.record()
        for j in range(inner):
            fn(sets[j % len(sets)])
        stop.record()
        stop.synchronize()
        times.append(1e3 * start.elapsed_time(stop) / inner)
    return statistics.median(times), min(times)


def mixup_cases(n, gen):
    """One mixing decision per batch for each mode, as bench_mixup's batch-level modes."""
    perm = torch.randperm(n, device="cuda", generator=gen)
    lam = 0.37
    p = round(lam * H)
    q = round(lam * W)
    bh, bw = 18, 20  # a rectangle of about (1 - lam) of the image
    y0, x0 = 5, 7

    def blend(s):
        s["out"] = lam * s["x"] + (1 - lam) * s["x"][perm]

    def paste(top, bottom, left, right):
        def run(s):
            out = s["x"].clone()
            out[:, :, top:bottom, left:right] = s["x"][perm, :, top:bottom, left:right]
            s["out"] = out
        return run

    return {"c": blend, "h": paste(p, H, 0, W), "v": paste(0, H, q, W), "r": paste(y0, y0 + bh, x0, x0 + bw)}


def bench_mixup(batches, reps):
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    gen = torch.Generator(device="cuda")
    gen.manual_seed(0)
    rows = []
    for n in batches:
        nbytes = n * C * H * W * 4
        count = max(2, (2 * l2 + 2 * nbytes - 1) // (2 * nbytes) + 1)
        sets = [{"x": torch.rand(n, C, H, W, device="cuda", generator=gen) * 2 - 1,
                 "dst": torch.empty(n, C, H, W, device="cuda")} for _ in range(count)]
        copy_us, _ = time_calls(lambda s: s["dst"].copy_(s["x"]), sets, reps)
        for mode, fn in mixup_cases(n, gen).items():
            fn(sets[0])
            if not torch.isfinite(sets[0]["out"]).all():
                raise SystemExit(f"torch mixup {mode}: non-finite output")
            us, _ = time_calls(fn, sets, reps)
            rows.append({"batch": n, "mode": mode, "torch_us": us, "torch_copy_us": copy_us})
        del sets
        torch.cuda.empty_cache()
    return rows


def bench_train(model_name, batch, steps, warmup):
    torch.manual_seed(1)
    model = make(model_name, C, 10).cuda()
    x = torch.randn(batch, C, H, W, device="cuda")
    y = torch.arange(batch, device="cuda") % 10
    med = statistics.median(step_times(model, x, y, steps, warmup))
    return {"median_ms": 1e3 * med, "images_per_s": batch / med}


def load(path):
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batches", default="128,512,8192")
    p.add_argument("--reps", type=int, default=50)
    p.add_argument("--model", default="preact-resnet18")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--ours-mixup", help="bench_mixup --json output")
    p.add_argument("--ours-train", help="bench_train_step --json output")
    a = p.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("torch_reference: no CUDA device")
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"# PyTorch {torch.__version__} (cuDNN {torch.backends.cudnn.version()}) on {torch.cuda.get_device_name(0)}")

    ours_mix = {(r["batch"], r["mode"]): r for r in load(a.ours_mixup) or [] if r["per"] == "batch"}
    print("\nmixup, us per batch (median); ratio = torch / ours (> 1: ours faster)")
    print(f"{'batch':>6} {'mode':>4} {'torch_us':>9} {'ours_us':>8} {'ratio':>6} {'torch_copy':>10} {'ours_copy':>9}")
    for r in bench_mixup([int(b) for b in a.batches.split(",")], a.reps):
        o = ours_mix.get((r["batch"], r["mode"]))
        ours_us = f"{o['fused_us']:.2f}" if o else "-"
        ratio = f"{r['torch_us'] / o['fused_us']:.2f}" if o else "-"
        ours_copy = f"{o['copy_us']:.2f}" if o else "-"
        print(f"{r['batch']:>6} {r['mode']:>4} {r['torch_us']:>9.2f} {ours_us:>8} {ratio:>6} "
              f"{r['torch_copy_us']:>10.2f} {ours_copy:>9}")

    t = bench_train(a.model, a.batch, a.steps, a.warmup)
    o = load(a.ours_train)
    print(f"\ntrain step {a.model} batch {a.batch} {C}x{H}x{W} fp32 (TF32 off)")
    print(f"  torch: {t['median_ms']:.2f} ms, {t['images_per_s']:.0f} images/s")
    if o:
        print(f"  ours:  {o['median_ms']:.2f} ms, {o['images_per_s']:.0f} images/s; "
              f"ratio ours / torch images/s = {o['images_per_s'] / t['images_per_s']:.2f}")


if __name__ == "__main__":
    main()
