"""Writes the state_dict names and shapes of bench/torch_models.py's DenseNet-BC-100 and -190 (3 input
channels, 10 classes; the efficient_densenet_pytorch layout) to tests/data/<model>.state_dict.txt, one
"name shape" per line (shape as 64x3x3x3, [] for a scalar), and prints their parameter counts.
Run from the repository root: python3 tests/data/make_densenet_state_dicts.py"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
from torch_models import make  # noqa: E402

for name in ["densenet-bc-100", "densenet-bc-190"]:
    m = make(name, 3, 10)
    with open("tests/data/%s.state_dict.txt" % name, "w") as f:
        for key, t in m.state_dict().items():
            f.write("%s %s\n" % (key, "x".join(map(str, t.shape)) or "[]"))
    print(name, sum(p.numel() for p in m.parameters()))
