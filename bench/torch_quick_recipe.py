#!/usr/bin/env python3
"""The quick recipe (README main job) written in PyTorch for the CPU, as a PyTorch user would write it:
quicknet (bench/torch_models.py, the same network as models/quicknet.cpp) on Fashion-MNIST, per-channel
normalisation from the training set, random horizontal flips, batch 128 reshuffled every epoch, SGD lr 0.1
Nesterov 0.9 wd 1e-4, lr /10 at 50 % and 75 % of the epochs (per step, as the engine), a test pass after
each epoch. The data sit in memory as uint8 and each batch is built in the main thread (no worker
processes: on 2 cores they would only compete with the step). Prints one JSON line with the test
accuracy, the training images/s (the steps of all epochs, test passes excluded) and the seconds."""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import make  # noqa: E402


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(root, prefix):
    x = torch.from_numpy(idx(f"{root}/{prefix}-images-idx3-ubyte.gz").copy()).unsqueeze(1)
    y = torch.from_numpy(idx(f"{root}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64))
    return x, y


def batches(x, y, batch, mean, std, gen=None, flip=False):
    order = torch.randperm(len(x), generator=gen) if gen is not None else torch.arange(len(x))
    for i in range(0, len(x), batch):
        idx_ = order[i:i + batch]
        xb = (x[idx_].float().div_(255) - mean) / std
        if flip:
            mask = torch.rand(len(idx_), generator=gen) < 0.5
            xb[mask] = xb[mask].flip(3)
        yield xb, y[idx_]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=7)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    xtr, ytr = load(a.data_dir, "train")
    xte, yte = load(a.data_dir, "t10k")
    mean, std = xtr.float().div(255).mean(), xtr.float().div(255).std()
    model = make("quicknet", 1, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    steps = (len(xtr) + a.batch - 1) // a.batch
    milestones = [0.5 * a.epochs, 0.75 * a.epochs]
    train_s, images, start = 0.0, 0, time.perf_counter()
    for epoch in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        for step, (xb, yb) in enumerate(batches(xtr, ytr, a.batch, mean, std, gen, flip=True)):
            e = epoch + step / steps
            for g in opt.param_groups:
                g["lr"] = 0.1 * 0.1 ** sum(e >= m for m in milestones)
            opt.zero_grad(set_to_none=False)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            images += len(yb)
        train_s += time.perf_counter() - t0
        model.eval()
        correct, test_loss = 0, 0.0
        with torch.no_grad():
            for xb, yb in batches(xte, yte, a.batch, mean, std):
                out = model(xb)
                test_loss += F.cross_entropy(out, yb, reduction="sum").item()
                correct += (out.argmax(1) == yb).sum().item()
        print(f"pytorch epoch {epoch + 1}/{a.epochs} train loss {loss.item():.4f} test loss {test_loss / len(xte):.4f} "
              f"acc {100 * correct / len(xte):.2f}%", file=sys.stderr)
    print(json.dumps({"framework": f"pytorch {torch.__version__}", "threads": torch.get_num_threads(),
                      "test_acc": correct / len(xte), "train_images_per_s": images / train_s,
                      "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
