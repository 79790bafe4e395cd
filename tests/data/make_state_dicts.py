#!/usr/bin/env python3
"""Writes the expected state_dict layouts of the model zoo's PyTorch twins, one "name dim dim ..." line per
entry in state_dict() order (a scalar such as num_batches_tracked has no dims), for tests/test_zoo.cpp.

ResNet-50/101 and ResNeXt-101 64x4d come from torchvision itself. ResNeXt-29 8x64d and WRN-28-10 come from
the re-implementations below, written from the papers with the module names of the CIFAR code their users
have: prlz77/ResNeXt.pytorch (CifarResNeXt) and xternalz/WideResNet-pytorch (WideResNet).

Run from the repository root:  python3 tests/data/make_state_dicts.py
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class ResNeXtBottleneck(nn.Module):
    """Xie et al.'s template (c): 1x1 reduce to D = cardinality * width channels, grouped 3x3, 1x1 expand."""

    def __init__(self, in_channels, out_channels, stride, cardinality, base_width, widen_factor):
        super().__init__()
        d = cardinality * int(base_width * out_channels / (widen_factor * 64.0))
        self.conv_reduce = nn.Conv2d(in_channels, d, 1, bias=False)
        self.bn_reduce = nn.BatchNorm2d(d)
        self.conv_conv = nn.Conv2d(d, d, 3, stride=stride, padding=1, groups=cardinality, bias=False)
        self.bn = nn.BatchNorm2d(d)
        self.conv_expand = nn.Conv2d(d, out_channels, 1, bias=False)
        self.bn_expand = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if in_channels != out_channels:
            self.shortcut.add_module("shortcut_conv",
                                     nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False))
            self.shortcut.add_module("shortcut_bn", nn.BatchNorm2d(out_channels))

    def forward(self, x):
        y = F.relu(self.bn_reduce(self.conv_reduce(x)))
        y = F.relu(self.bn(self.conv_conv(y)))
        y = self.bn_expand(self.conv_expand(y))
        return F.relu(self.shortcut(x) + y)


class CifarResNeXt(nn.Module):
    """ResNeXt for 32x32 images: a 3x3 stem of 64 channels, three stages of (depth - 2) / 9 bottlenecks with
    64, 128 and 256 times widen_factor output channels (strides 1, 2, 2), a global average pool and a linear layer."""

    def __init__(self, cardinality=8, depth=29, num_classes=10, base_width=64, widen_factor=4, in_channels=3):
        super().__init__()
        blocks = (depth - 2) // 9
        stages = [64, 64 * widen_factor, 128 * widen_factor, 256 * widen_factor]
        self.conv_1_3x3 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        self.bn_1 = nn.BatchNorm2d(64)
        for i in range(3):
            stage = nn.Sequential()
            for b in range(blocks):
                stage.add_module("stage_%d_bottleneck_%d" % (i + 1, b),
                                 ResNeXtBottleneck(stages[i] if b == 0 else stages[i + 1], stages[i + 1],
                                                   (1 if i == 0 else 2) if b == 0 else 1, cardinality, base_width,
                                                   widen_factor))
            self.add_module("stage_%d" % (i + 1), stage)
        self.classifier = nn.Linear(stages[3], num_classes)

    def forward(self, x):
        x = F.relu(self.bn_1(self.conv_1_3x3(x)))
        x = self.stage_3(self.stage_2(self.stage_1(x)))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class WideBasicBlock(nn.Module):
    """Pre-activation block of two 3x3 convolutions; where the width or stride changes, the 1x1 shortcut
    convolution sees the pre-activated input."""

    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.convShortcut = None if in_planes == out_planes else nn.Conv2d(in_planes, out_planes, 1, stride, 0,
                                                                           bias=False)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(a))))
        return out + (x if self.convShortcut is None else self.convShortcut(a))


class NetworkBlock(nn.Module):
    def __init__(self, blocks, in_planes, out_planes, stride):
        super().__init__()
        self.layer = nn.Sequential(*[WideBasicBlock(in_planes if i == 0 else out_planes, out_planes,
                                                    stride if i == 0 else 1) for i in range(blocks)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    """WRN-depth-k: a 3x3 stem of 16 channels, three groups of (depth - 4) / 6 blocks of 16k, 32k, 64k channels
    (strides 1, 2, 2), a final batch norm and ReLU, a global average pool and a linear layer."""

    def __init__(self, depth=28, widen_factor=10, num_classes=10, in_channels=3):
        super().__init__()
        n = (depth - 4) // 6
        ch = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(in_channels, ch[0], 3, 1, 1, bias=False)
        self.block1 = NetworkBlock(n, ch[0], ch[1], 1)
        self.block2 = NetworkBlock(n, ch[1], ch[2], 2)
        self.block3 = NetworkBlock(n, ch[2], ch[3], 2)
        self.bn1 = nn.BatchNorm2d(ch[3])
        self.fc = nn.Linear(ch[3], num_classes)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(F.relu(self.bn1(x)), 1), 1))


def models():
    return {
        "resnet50": (torchvision.models.resnet50(), "torchvision.models.resnet50()"),
        "resnet101": (torchvision.models.resnet101(), "torchvision.models.resnet101()"),
        "resnext101-64x4d": (torchvision.models.resnext101_64x4d(), "torchvision.models.resnext101_64x4d()"),
        "resnext29-8x64d": (CifarResNeXt(), "CifarResNeXt(cardinality=8, depth=29, num_classes=10, base_width=64, "
                                            "widen_factor=4), layout of prlz77/ResNeXt.pytorch"),
        "wrn-28-10": (WideResNet(), "WideResNet(depth=28, widen_factor=10, num_classes=10), layout of "
                                    "xternalz/WideResNet-pytorch"),
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, (model, source) in models().items():
        params = sum(p.numel() for p in model.parameters())
        lines = ["# %s, torch %s, torchvision %s: %d parameters" % (source, torch.__version__,
                                                                      torchvision.__version__, params)]
        lines += [" ".join([key] + [str(d) for d in t.shape]) for key, t in model.state_dict().items()]
        path = os.path.join(here, name + ".state_dict.txt")
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(path + ".tmp", path)
        print("%s: %d parameters, %d state_dict entries -> %s" % (name, params, len(lines) - 1, path))


if __name__ == "__main__":
    main()
