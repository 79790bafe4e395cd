"""PyTorch twins of the networks in models/: the same modules, parameter names, shapes and forward
passes, for the side-by-side benchmarks (torch_train_step.py, torch_reference.py, torch_quick_recipe.py)
and for the state_dict lists the tests compare against (tests/data/make_state_dicts.py)."""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint


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


class DenseLayer(nn.Module):
    """norm1-relu1-conv1 (1x1, 4k) then norm2-relu2-conv2 (3x3, k); the first part recomputed in backward
    by torch.utils.checkpoint when efficient, as efficient_densenet_pytorch does."""

    def __init__(self, cin, k, efficient):
        super().__init__()
        self.norm1, self.relu1 = nn.BatchNorm2d(cin), nn.ReLU()
        self.conv1 = nn.Conv2d(cin, 4 * k, 1, bias=False)
        self.norm2, self.relu2 = nn.BatchNorm2d(4 * k), nn.ReLU()
        self.conv2 = nn.Conv2d(4 * k, k, 3, padding=1, bias=False)
        self.efficient = efficient

    def bottleneck(self, *previous):
        return self.conv1(self.relu1(self.norm1(torch.cat(previous, 1))))

    def forward(self, previous):
        if self.efficient and any(t.requires_grad for t in previous):
            out = torch.utils.checkpoint.checkpoint(self.bottleneck, *previous, use_reentrant=False)
        else:
            out = self.bottleneck(*previous)
        return self.conv2(self.relu2(self.norm2(out)))


class DenseBlock(nn.Module):
    def __init__(self, cin, k, layers, efficient):
        super().__init__()
        for i in range(layers):
            self.add_module("denselayer%d" % (i + 1), DenseLayer(cin + i * k, k, efficient))

    def forward(self, x):
        maps = [x]
        for layer in self.children():
            maps.append(layer(maps))
        return torch.cat(maps, 1)


class DenseNetBC(nn.Module):
    """models/densenet.cpp's layout (efficient_densenet_pytorch, small_inputs=True): names and shapes equal."""

    def __init__(self, k, layers, in_ch, classes, efficient=True):
        super().__init__()
        c = 2 * k
        self.features = nn.Sequential(OrderedDict([("conv0", nn.Conv2d(in_ch, c, 3, padding=1, bias=False))]))
        for b in range(1, 4):
            self.features.add_module("denseblock%d" % b, DenseBlock(c, k, layers, efficient))
            c += layers * k
            if b < 3:
                self.features.add_module("transition%d" % b, nn.Sequential(OrderedDict([
                    ("norm", nn.BatchNorm2d(c)), ("relu", nn.ReLU()), ("conv", nn.Conv2d(c, c // 2, 1, bias=False)),
                    ("pool", nn.AvgPool2d(2, 2))])))
                c //= 2
        self.features.add_module("norm_final", nn.BatchNorm2d(c))
        self.classifier = nn.Linear(c, classes)

    def forward(self, x):
        out = F.relu(self.features(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


DENSENETS = {"densenet-bc-100": (12, 16), "densenet-bc-190": (40, 31)}


def make(name, in_ch, classes, efficient=True):
    """The twin of models::make_model(name); `efficient` is DenseNet's memory-efficient mode."""
    if name == "quicknet":
        return conv_stack([16, "M", 64, "M", 128, "M", 256], in_ch, classes, False)
    if name == "vgg11":
        return conv_stack([64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"], in_ch, classes, True)
    if name == "preact-resnet18":
        return PreActResNet18(in_ch, classes)
    if name in DENSENETS:
        return DenseNetBC(*DENSENETS[name], in_ch, classes, efficient)
    raise SystemExit(f"unknown model {name}")
