"""PyTorch twin of models/densenet.cpp in the layout of efficient_densenet_pytorch (Pleiss et al.,
small_inputs=True): writes the state_dict names and shapes of DenseNet-BC-100 and -190 (10 classes) to
tests/data/densenet-bc-{100,190}.state_dict.txt ("name shape" per line, shape as 64x3x3x3, [] for a
scalar) and prints their parameter counts. Run from the repository root: python3 tests/data/densenet_reference.py"""
from collections import OrderedDict

import torch.nn as nn


def dense_layer(cin, k):
    return nn.Sequential(OrderedDict([
        ("norm1", nn.BatchNorm2d(cin)), ("relu1", nn.ReLU()), ("conv1", nn.Conv2d(cin, 4 * k, 1, bias=False)),
        ("norm2", nn.BatchNorm2d(4 * k)), ("relu2", nn.ReLU()), ("conv2", nn.Conv2d(4 * k, k, 3, padding=1, bias=False))]))


def densenet_bc(k, layers, classes=10):
    features = nn.Sequential(OrderedDict([("conv0", nn.Conv2d(3, 2 * k, 3, padding=1, bias=False))]))
    c = 2 * k
    for b in range(1, 4):
        block = nn.Module()
        for l in range(layers):
            block.add_module("denselayer%d" % (l + 1), dense_layer(c + l * k, k))
        features.add_module("denseblock%d" % b, block)
        c += layers * k
        if b < 3:
            features.add_module("transition%d" % b, nn.Sequential(OrderedDict([
                ("norm", nn.BatchNorm2d(c)), ("relu", nn.ReLU()), ("conv", nn.Conv2d(c, c // 2, 1, bias=False)),
                ("pool", nn.AvgPool2d(2, 2))])))
            c //= 2
    features.add_module("norm_final", nn.BatchNorm2d(c))
    model = nn.Module()
    model.features = features
    model.classifier = nn.Linear(c, classes)
    return model


for name, k, layers in [("densenet-bc-100", 12, 16), ("densenet-bc-190", 40, 31)]:
    m = densenet_bc(k, layers)
    with open("tests/data/%s.state_dict.txt" % name, "w") as f:
        for key, t in m.state_dict().items():
            f.write("%s %s\n" % (key, "x".join(map(str, t.shape)) or "[]"))
    print(name, sum(p.numel() for p in m.parameters()))
