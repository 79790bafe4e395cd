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


class ResnetBlock(nn.Module):
    """CycleGAN's residual block with reflection padding and instance norm (the layout of
    junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py)."""

    def __init__(self, dim):
        super().__init__()
        def half():
            return [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=True), nn.InstanceNorm2d(dim)]
        self.conv_block = nn.Sequential(*half(), nn.ReLU(True), *half())

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """The ResNet generator of CycleGAN: c7s1-ngf, two stride-2 convolutions, `blocks` residual blocks, two
    transposed convolutions, c7s1-out with tanh; instance norm, so every convolution has a bias."""

    def __init__(self, in_ch=3, out_ch=3, ngf=64, blocks=9):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7, bias=True), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=True),
                       nn.InstanceNorm2d(ngf * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4) for _ in range(blocks)]
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1,
                                          bias=True), nn.InstanceNorm2d(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """CycleGAN's PatchGAN discriminator (NLayerDiscriminator, 4x4 kernels, leaky ReLU 0.2, instance norm)."""

    def __init__(self, in_ch=3, ndf=64, n_layers=3):
        super().__init__()
        layers = [nn.Conv2d(in_ch, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=2 if n < n_layers else 1, padding=1, bias=True),
                       nn.InstanceNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


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
    if name == "resnext29-8x64d":
        return CifarResNeXt(num_classes=classes, in_channels=in_ch)
    if name == "wrn-28-10":
        return WideResNet(num_classes=classes, in_channels=in_ch)
    if name in ("resnet50", "resnet101", "resnext101-64x4d"):
        import torchvision  # only these need it
        if in_ch != 3:
            raise SystemExit(f"{name}: the torchvision twin takes 3 input channels")
        return getattr(torchvision.models, name.replace("-", "_"))(num_classes=classes)
    raise SystemExit(f"unknown model {name}")
