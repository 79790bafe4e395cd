#!/usr/bin/env python3
"""PyTorch reference for the GPU benchmarks, on the same GPU, printed side by side with ours.

mixup: lam * x + (1 - lam) * x[perm] (the usual mixup-C idiom, four kernels), and the stitching modes
by slicing (out = x.clone(); out[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]), for the batch sizes
of bench_mixup on 3x32x32 fp32 images. Timed like bench_mixup: CUDA events around a run of calls that
rotates over enough input sets to exceed L2 twice, median over repetitions, after a warm-up.

train: the fp32 eager training step (forward, cross-entropy, backward, SGD-Nesterov) of the identical
PreAct ResNet-18 defined in torch_models.py, with TF32 off as in our engine, median step time with
the GPU synchronised at the end of each step, like bench_train_step.

peers: the mixing tools users run today, on the same batches (with int64 labels of 10 classes), timed
the same way and printed as a ratio to our fused kernel in the matching mode and granularity of
bench_mixup (c or r, per batch or per sample): the two-line PyTorch batch mixup (always), timm's Mixup
(modes batch, pair and elem, each as mixup and as cutmix), torchvision.transforms.v2 MixUp and CutMix,
and Kornia's RandomMixUpV2 and RandomCutMixV2, each where its package imports ("skipped: <peer>
(<reason>)" otherwise). Each output is checked before it is timed. A peer that takes over a millisecond
a call (timm's pair and elem modes loop over the batch in Python) is timed over fewer runs, so that
each peer takes about --peer-budget seconds. The peers run last, so that the stage's time limit can
only cut them short.

stored: the PyTorch form of our --data-on-device batch (a uint8 training set kept on the GPU; gather,
random shift and mirror, normalize, mixup-C), against bench_mixup's augment_mix figures.

Our figures come from the JSON files written by `bench_mixup --json` and `bench_train_step --json`;
ratios > 1 mean we are faster."""
import argparse
import json
import os
import statistics
import sys
import time
from collections import namedtuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import make  # noqa: E402
from torch_train_step import step_times  # noqa: E402  (the same networks and step as bench_train_step)

C, H, W = 3, 32, 32
CLASSES = 10
LAM = 0.37  # the fixed lambda of the batch-level torch forms


def time_calls(fn, sets, reps, budget_s=None):
    """Median and minimum microseconds per call over `reps` runs that rotate over all sets. With budget_s,
    fewer runs (at least 3) where `reps` would take longer, and runs of one pass over the sets where a
    call takes over a millisecond (the warm-up pass tells)."""
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    began = time.perf_counter()
    for s in sets:
        fn(s)
    torch.cuda.synchronize()
    per_call = (time.perf_counter() - began) / len(sets)
    inner = max(len(sets), 10)
    if budget_s is not None:
        inner = len(sets) if per_call > 1e-3 else inner
        reps = max(3, min(reps, int(budget_s / (per_call * inner))))
    times = []
    for _ in range(reps):
        start.record()
        for j in range(inner):
            fn(sets[j % len(sets)])
        stop.record()
        stop.synchronize()
        times.append(1e3 * start.elapsed_time(stop) / inner)
    return statistics.median(times), min(times)


def make_sets(n, l2):
    """Enough input sets of n images (uniform in [-1, 1), with labels) to exceed L2 twice, the same for a
    given n on every call."""
    gen = torch.Generator(device="cuda")
    gen.manual_seed(n)
    nbytes = n * C * H * W * 4
    count = max(2, (2 * l2 + 2 * nbytes - 1) // (2 * nbytes) + 1)
    return [{"x": torch.rand(n, C, H, W, device="cuda", generator=gen) * 2 - 1,
             "labels": torch.randint(0, CLASSES, (n,), device="cuda", generator=gen),
             "dst": torch.empty(n, C, H, W, device="cuda")} for _ in range(count)]


def mixup_cases(n, gen):
    """One mixing decision per batch for each mode, as bench_mixup's batch-level modes."""
    perm = torch.randperm(n, device="cuda", generator=gen)
    lam = LAM
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
        sets = make_sets(n, l2)
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


# ---- the batch built from a uint8 training set kept on the GPU (our --data-on-device) ----

STORED, SHIFT = 50000, 4  # as bench_mixup's stored set: 50000 images, shifts of up to 4 pixels


def stored_case(n, gen, padded):
    """The PyTorch form of what augment_mix does for mixup-C per batch: n images gathered from the stored
    uint8 set, each shifted by up to SHIFT pixels with zero fill and mirrored at random (one
    advanced-indexing gather from the set zero-padded once beforehand), normalized, then blended with a
    permutation. The draws are made beforehand, as our loader makes them on the host."""
    def draw(low, high):
        return torch.randint(low, high, (n,), device="cuda", generator=gen)

    idx, dy, dx, flip = draw(0, STORED), draw(-SHIFT, SHIFT + 1), draw(-SHIFT, SHIFT + 1), draw(0, 2).bool()
    perm = torch.randperm(n, device="cuda", generator=gen)
    ar_h, ar_w = torch.arange(H, device="cuda"), torch.arange(W, device="cuda")
    rows = (ar_h[None, :] - dy[:, None] + SHIFT)[:, None, :, None]
    cols = (torch.where(flip[:, None], W - 1 - ar_w[None, :], ar_w[None, :]) - dx[:, None] + SHIFT)[:, None, None, :]
    channels = torch.arange(C, device="cuda")[None, :, None, None]
    mean = torch.tensor([0.49, 0.48, 0.45], device="cuda").view(1, C, 1, 1)
    std = torch.tensor([0.25, 0.24, 0.26], device="cuda").view(1, C, 1, 1)

    def run(s):
        x = padded[idx[:, None, None, None], channels, rows, cols].float().div_(255).sub_(mean).div_(std)
        s["out"] = LAM * x + (1 - LAM) * x[perm]
    return run


def bench_stored(batches, reps, budget_s):
    """Rows (batch, torch_us) for stored_case, on output sets that rotate as bench_mixup's do, each batch
    timed over about budget_s seconds at most."""
    gen = torch.Generator(device="cuda")
    gen.manual_seed(2)
    stored = torch.randint(0, 256, (STORED, C, H, W), device="cuda", dtype=torch.uint8, generator=gen)
    padded = torch.nn.functional.pad(stored, (SHIFT, SHIFT, SHIFT, SHIFT))
    del stored
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    rows = []
    for n in batches:
        sets = make_sets(n, l2)
        run = stored_case(n, gen, padded)
        run(sets[0])
        if sets[0]["out"].shape != (n, C, H, W) or not torch.isfinite(sets[0]["out"]).all():
            raise SystemExit("torch stored-batch mixup: wrong shape or non-finite output")
        rows.append((n, time_calls(run, sets, reps, budget_s)[0]))
        del sets
    del padded
    torch.cuda.empty_cache()
    return rows


# ---- peers: the mixing tools users run ----

# name; our matching bench_mixup row (mode, per); whether it needs an even batch; make(n) -> call(set) that
# mixes the set's batch and returns the mixed images.
Peer = namedtuple("Peer", "name ours even make")


def two_line(n):
    """timm's batch mixup as two lines of PyTorch, in place. As one expression,
    x.mul_(lam).add_(x.flip(0).mul_(1 - lam)), it would be wrong: x.mul_(lam) runs before x.flip(0), so
    the flipped batch would be scaled by lam * (1 - lam). The flip must be taken first."""
    def run(s):
        flipped = s["x"].flip(0).mul_(1 - LAM)
        return s["x"].mul_(LAM).add_(flipped)
    return run


def timm_peers():
    from timm.data import Mixup

    def make(mode, mixup_alpha, cutmix_alpha):
        def build(n):
            m = Mixup(mixup_alpha=mixup_alpha, cutmix_alpha=cutmix_alpha, mode=mode, label_smoothing=0.0,
                      num_classes=CLASSES)
            return lambda s: m(s["x"], s["labels"])[0]
        return build

    return [Peer(f"timm Mixup {mode} {kind}", (ours_mode, "batch" if mode == "batch" else "sample"), True,
                 make(mode, *alphas))
            for mode in ("batch", "pair", "elem")
            for kind, ours_mode, alphas in (("mixup", "c", (1.0, 0.0)), ("cutmix", "r", (0.0, 1.0)))]


def torchvision_peers():
    from torchvision.transforms import v2

    def make(cls):
        def build(n):
            t = cls(alpha=1.0, num_classes=CLASSES)
            return lambda s: t(s["x"], s["labels"])[0]
        return build

    return [Peer("torchvision v2 MixUp", ("c", "batch"), False, make(v2.MixUp)),
            Peer("torchvision v2 CutMix", ("r", "batch"), False, make(v2.CutMix))]


def kornia_peers():
    import kornia.augmentation as K

    def make(cls, **kwargs):
        def build(n):
            a = cls(data_keys=["input", "class"], **kwargs)
            return lambda s: a(s["x"], s["labels"])[0]
        return build

    # A lambda (mixup) or a box (cutmix) per sample, as our per-sample plans.
    return [Peer("kornia RandomMixUpV2", ("c", "sample"), False, make(K.RandomMixUpV2)),
            Peer("kornia RandomCutMixV2", ("r", "sample"), False, make(K.RandomCutMixV2, use_correct_lambda=True))]


def available_peers():
    """The peers whose packages import, and a "skipped: ..." line for each package that does not."""
    peers = [Peer("torch two-line batch mixup", ("c", "batch"), False, two_line)]
    skipped = []
    for name, listing in (("timm Mixup", timm_peers), ("torchvision v2 MixUp/CutMix", torchvision_peers),
                          ("kornia RandomMixUpV2/RandomCutMixV2", kornia_peers)):
        try:
            peers += listing()
        except Exception as e:  # an ImportError, or a package that breaks on import with this torch
            skipped.append(f"skipped: {name} ({one_line(e)})")
    return peers, skipped


def one_line(e):
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def check_output(peer, call, s):
    """One call on a copy of a set: the mixed batch keeps the shape, is finite, and for the two-line form
    equals lam * x + (1 - lam) * x.flip(0)."""
    probe = dict(s, x=s["x"].clone())
    out = call(probe)
    if out.shape != s["x"].shape or not torch.isfinite(out).all():
        raise RuntimeError(f"output of shape {tuple(out.shape)} or not finite")
    if peer.make is two_line and not torch.allclose(out, LAM * s["x"] + (1 - LAM) * s["x"].flip(0), atol=1e-6):
        raise RuntimeError("differs from lam * x + (1 - lam) * x.flip(0)")


def bench_peers(peers, batches, reps, budget_s, deadline):
    """Rows (batch, peer, us) on the sets of make_sets, or (batch, peer, "skipped: ..."); a peer not begun
    by `deadline` (time.time(), or None) is skipped.

    timm's Mixup and the two-line form mix the batch in place, as a training loop does; they run on the
    rotating sets like the others, without a copy per call, each call mixing what the last call on that
    set left (a blend or paste of values of the same range, so the work per call does not change). The
    others return a new batch."""
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    rows = []
    for n in batches:
        sets = make_sets(n, l2)
        for peer in peers:
            if deadline is not None and time.time() > deadline:
                rows.append((n, peer, f"skipped: {peer.name} (out of time: --end-by)"))
                continue
            if peer.even and n % 2:
                rows.append((n, peer, f"skipped: {peer.name} (needs an even batch, got {n})"))
                continue
            try:
                call = peer.make(n)
                check_output(peer, call, sets[0])
                rows.append((n, peer, time_calls(call, sets, reps, budget_s)[0]))
            except Exception as e:
                rows.append((n, peer, f"skipped: {peer.name} ({one_line(e)})"))
        del sets
        torch.cuda.empty_cache()
    return rows


def print_peers(rows, ours):
    print("\nmixup peers, us per batch (median); ratio = peer / ours, our fused kernel in the matching mode "
          "(> 1: ours faster)")
    print(f"{'batch':>6} {'peer':<30} {'ours':>7} {'peer_us':>9} {'ours_us':>8} {'ratio':>6}")
    for n, peer, us in rows:
        if isinstance(us, str):
            print(us)
            continue
        mode, per = peer.ours
        o = ours.get((n, mode, per))
        ours_us = f"{o['fused_us']:.2f}" if o else "-"
        ratio = f"{us / o['fused_us']:.2f}" if o else "-"
        label = mode if per == "batch" else f"{mode}/smp"
        print(f"{n:>6} {peer.name:<30} {label:>7} {us:>9.2f} {ours_us:>8} {ratio:>6}")


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
    p.add_argument("--peer-budget", type=float, default=0.3, help="seconds of timed runs per peer and batch")
    p.add_argument("--end-by", type=float,
                   help="wall-clock time (seconds since the epoch, as date +%%s) past which no further peer is begun")
    a = p.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("torch_reference: no CUDA device")
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"# PyTorch {torch.__version__} (cuDNN {torch.backends.cudnn.version()}) on {torch.cuda.get_device_name(0)}")

    ours = {(r["batch"], r["mode"], r["per"]): r for r in load(a.ours_mixup) or []}
    batches = [int(b) for b in a.batches.split(",")]
    print("\nmixup, us per batch (median); ratio = torch / ours (> 1: ours faster)")
    print(f"{'batch':>6} {'mode':>4} {'torch_us':>9} {'ours_us':>8} {'ratio':>6} {'torch_copy':>10} {'ours_copy':>9}")
    for r in bench_mixup(batches, a.reps):
        o = ours.get((r["batch"], r["mode"], "batch"))
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

    print("\nbatch from a uint8 set kept on the GPU (gather, shift, mirror, normalize, mixup-C per batch), us per "
          "batch (median); ours = augment_mix (bench_mixup's stored table); ratio = torch / ours")
    print(f"{'batch':>6} {'torch_us':>9} {'ours_us':>8} {'ratio':>6}")
    try:
        stored_rows = bench_stored(batches, a.reps, a.peer_budget)
    except (RuntimeError, SystemExit) as e:  # out of memory, say: the peers below still run
        stored_rows = []
        print(f"skipped: stored batch ({one_line(e)})")
    for n, us in stored_rows:
        o = ours.get((n, "c", "batch"))
        stored_us = o.get("stored_us") if o else None
        ours_us = f"{stored_us:.2f}" if stored_us else "-"
        ratio = f"{us / stored_us:.2f}" if stored_us else "-"
        print(f"{n:>6} {us:>9.2f} {ours_us:>8} {ratio:>6}")

    peers, skipped = available_peers()
    for line in skipped:
        print(line)
    print_peers(bench_peers(peers, batches, a.reps, a.peer_budget, a.end_by), ours)


if __name__ == "__main__":
    main()
