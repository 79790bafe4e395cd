#!/usr/bin/env python3
"""Writes the expected state_dict layouts of the model zoo's PyTorch twins, one "name dim dim ..." line per
entry in state_dict() order (a scalar such as num_batches_tracked has no dims), for tests/test_zoo.cpp.

ResNet-50/101 and ResNeXt-101 64x4d come from torchvision itself; the CycleGAN generator and discriminator
from bench/torch_models.py, with the module names of junyanz/pytorch-CycleGAN-and-pix2pix. ResNeXt-29 8x64d, WRN-28-10 and
DenseNet-BC-100/190 come from the re-implementations in bench/torch_models.py, written from the papers with
the module names of the CIFAR code their users have: prlz77/ResNeXt.pytorch (CifarResNeXt),
xternalz/WideResNet-pytorch (WideResNet) and efficient_densenet_pytorch (DenseNet, small_inputs=True).

Run from the repository root:  python3 tests/data/make_state_dicts.py
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from torch_models import CifarResNeXt, DenseNetBC, PatchDiscriminator, ResnetGenerator, WideResNet  # noqa: E402


def models():
    return {
        "resnet50": (torchvision.models.resnet50(), "torchvision.models.resnet50()"),
        "resnet101": (torchvision.models.resnet101(), "torchvision.models.resnet101()"),
        "resnext101-64x4d": (torchvision.models.resnext101_64x4d(), "torchvision.models.resnext101_64x4d()"),
        "resnext29-8x64d": (CifarResNeXt(), "CifarResNeXt(cardinality=8, depth=29, num_classes=10, base_width=64, "
                                            "widen_factor=4), layout of prlz77/ResNeXt.pytorch"),
        "wrn-28-10": (WideResNet(), "WideResNet(depth=28, widen_factor=10, num_classes=10), layout of "
                                    "xternalz/WideResNet-pytorch"),
        "densenet-bc-100": (DenseNetBC(12, 16, 3, 10), "DenseNet-BC k=12 depth 100, layout of efficient_densenet_pytorch"),
        "densenet-bc-190": (DenseNetBC(40, 31, 3, 10), "DenseNet-BC k=40 depth 190, layout of efficient_densenet_pytorch"),
        "cyclegan-resnet-9blocks": (ResnetGenerator(3, 3, 64, 9), "ResnetGenerator(3, 3, ngf=64, n_blocks=9, "
                                                                  "InstanceNorm2d), layout of junyanz/pytorch-CycleGAN-and-pix2pix"),
        "cyclegan-resnet-6blocks-ngf32-grey": (ResnetGenerator(1, 1, 32, 6), "ResnetGenerator(1, 1, ngf=32, n_blocks=6, "
                                                                             "InstanceNorm2d), same layout"),
        "cyclegan-patchgan-70": (PatchDiscriminator(3, 64, 3), "NLayerDiscriminator(3, ndf=64, n_layers=3, "
                                                               "InstanceNorm2d), layout of junyanz/pytorch-CycleGAN-and-pix2pix"),
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
