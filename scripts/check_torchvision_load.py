#!/usr/bin/env python3
"""Weights move both ways between the engine and PyTorch, for the model zoo's PyTorch-layout models.

engine -> PyTorch: `mixup init --model M` writes fresh weights; they load into torchvision.models.X() (or,
for the CIFAR models, into the re-implementations of bench/torch_models.py, which mirror the reference
repositories' modules) with load_state_dict(strict=True), every shape equal.
PyTorch -> engine: the PyTorch model's own initialisation, with random batch-norm statistics and affine
terms, is saved as safetensors (written here by hand: 8-byte header length, JSON header, raw data) and
`mixup models --model M --check FILE` loads it strictly into ours.
In both directions the engine's logits for its probe image (apps/zoo.cpp) are compared with PyTorch's, in
evaluation mode.

Usage: python3 scripts/check_torchvision_load.py [--mixup build/mixup] [--models resnet50 ...] [--tmp DIR]
Prints one line per model and direction; exits 1 if any check fails.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import torch_models  # noqa: E402

DTYPES = {"F32": (torch.float32, np.float32), "I64": (torch.int64, np.int64)}


def torch_model(name):
    return torch_models.make(name, 3, 1000 if natural_size(name) == 224 else 10)


def natural_size(name):
    return 224 if name.startswith("resnet") or name.startswith("resnext101") else 32


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for key, e in header.items():
        begin, end = e["data_offsets"]
        tdtype, ndtype = DTYPES[e["dtype"]]
        array = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=ndtype).reshape(e["shape"])
        out[key] = torch.from_numpy(array.copy()).to(tdtype)
    return out


def write_safetensors(path, state):
    names = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for key, t in state.items():
        blob = t.detach().contiguous().numpy().tobytes()
        header[key] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def probe(size):
    """The engine's probe image: element k is ((7919 k) mod 1000) / 500 - 1."""
    k = np.arange(3 * size * size, dtype=np.int64)
    return torch.from_numpy(((k * 7919 % 1000) / 500.0 - 1.0).astype(np.float32)).reshape(1, 3, size, size)


def engine_logits(mixup, name, path):
    out = subprocess.run([mixup, "models", "--model", name, "--check", path], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return np.array([float(v) for v in re.search(r"probe logits:(.*)", out.stdout).group(1).split()])


def compare(model, name, got):
    model.eval()
    with torch.no_grad():
        want = model(probe(natural_size(name)))[0, :len(got)].numpy().astype(np.float64)
    err = np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30)
    return err, want


def engine_to_torch(mixup, name, tmp):
    path = os.path.join(tmp, name + ".engine.safetensors")
    subprocess.run([mixup, "init", "--model", name, "--seed", "1", "--out", path], check=True, capture_output=True)
    state = read_safetensors(path)
    model = torch_model(name)
    model.load_state_dict(state, strict=True)  # raises on any missing, unexpected or mis-shaped tensor
    shapes_equal = all(tuple(state[k].shape) == tuple(v.shape) for k, v in model.state_dict().items())
    err, _ = compare(model, name, engine_logits(mixup, name, path))
    os.remove(path)
    return "engine -> torch: mixup init loads with strict=True (%d tensors, shapes equal: %s); probe logits " \
           "max relative difference %.2e" % (len(state), shapes_equal, err), shapes_equal and err < 1e-3


def torch_to_engine(mixup, name, tmp):
    torch.manual_seed(2)
    model = torch_model(name)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(7)
    path = os.path.join(tmp, name + ".torch.safetensors")
    write_safetensors(path, model.state_dict())
    got = engine_logits(mixup, name, path)
    err, _ = compare(model, name, got)
    os.remove(path)
    return "torch -> engine: mixup models --check loads strictly; probe logits max relative difference %.2e" % err, \
        err < 1e-3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mixup", default="build/mixup")
    ap.add_argument("--models", nargs="+",
                    default=["resnet50", "resnet101", "resnext101-64x4d", "resnext29-8x64d", "wrn-28-10",
                             "densenet-bc-100", "densenet-bc-190"])
    ap.add_argument("--tmp", default=None, help="folder for the weight files (default: a temporary one)")
    args = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        for name in args.models:
            for check in (engine_to_torch, torch_to_engine):
                try:
                    line, passed = check(args.mixup, name, tmp)
                except Exception as e:  # report every model, then fail
                    line, passed = "FAILED: %s" % str(e).splitlines()[-1], False
                print("%-18s %s%s" % (name, line, "" if passed else "  <- FAILED"), flush=True)
                ok = ok and passed
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
