#!/usr/bin/env python3
"""PyTorch reference for bench_train_step: the same networks (quicknet, preact-resnet18, vgg11 as
defined in models/), the same random inputs shape, forward + cross-entropy + backward + SGD-Nesterov
step, fp32 eager, median step time after warm-up. Prints one line in bench_train_step's format."""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_stack(cfg, in_ch, classes, conv_bias):
    layers = []
    for c in cfg:
        if c == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(in_ch, c, 3, padding=1, bias=conv_bias), nn.BatchNorm2d(c), nn.ReLU()]
            in_ch = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_ch, classes))


class PreActBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = (nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None)

    def forward(self, x):
        out = F.relu(self.bn1(x))
        skip = self.shortcut(out) if self.shortcut is not None else x
        return self.conv2(F.relu(self.bn2(self.conv1(out)))) + skip


class PreActResNet18(nn.Module):
    def __init__(self, in_ch, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 64, 3, 1, 1, bias=False)
        blocks, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            blocks += [PreActBlock(cin, cout, stride), PreActBlock(cout, cout, 1)]
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(512, classes)

    def forward(self, x):
        out = self.blocks(self.conv1(x))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def make(name, in_ch, classes):
    if name == "quicknet":
        return conv_stack([16, "M", 64, "M", 128, "M", 256], in_ch, classes, False)
    if name == "vgg11":
        return conv_stack([64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"], in_ch, classes, True)
    if name == "preact-resnet18":
        return PreActResNet18(in_ch, classes)
    raise SystemExit(f"unknown model {name}")


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
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dev = torch.device(a.device)
    model = make(a.model, a.channels, 10).to(dev)
    x = torch.randn(a.batch, a.channels, a.size, a.size, device=dev)
    y = torch.arange(a.batch, device=dev) % 10
    t = step_times(model, x, y, a.steps, a.warmup)
    med = statistics.median(t)
    print(f"pytorch {torch.__version__} model {a.model} batch {a.batch} input {a.channels}x{a.size}x{a.size} "
          f"threads {torch.get_num_threads()}: median step {1e3 * med:.1f} ms (min {1e3 * t[0]:.1f}, "
          f"max {1e3 * t[-1]:.1f}), {a.batch / med:.0f} images/s")


if __name__ == "__main__":
    main()
