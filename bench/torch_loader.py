#!/usr/bin/env python3
"""The PyTorch peer of bench_loader: torchvision's ImageFolder with RandomResizedCrop, a horizontal flip,
ToTensor and Normalize (ImageNet mean and std) through a DataLoader, in images/s for each worker count
(median of --repeats epochs after a warm-up epoch), on the tree bench_loader writes; first the time per
image of the same pipeline in one process, without the DataLoader.
Usage: python3 bench/torch_loader.py --dir TREE [--size 224] [--workers 1,2] [--repeats 3] [--batch-size 32]"""
import argparse
import statistics
import time

import torch
import torchvision
from torchvision import transforms


def measure(dataset, workers, batch_size, repeats):
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                                         persistent_workers=True)
    first = next(iter(loader))[0]
    assert torch.isfinite(first).all(), "non-finite values in the first batch"
    for _ in loader:  # warm-up epoch
        pass
    rates = []
    for _ in range(repeats):
        start, n = time.perf_counter(), 0
        for images, _ in loader:
            n += images.shape[0]
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def in_process_ms(dataset):
    """Milliseconds per image of dataset[i] in this process on one thread, without a DataLoader."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    for i in range(len(dataset)):
        dataset[i]
    return (time.perf_counter() - start) / len(dataset) * 1000


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--workers", default="1,2")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    a = p.parse_args()
    transform = transforms.Compose([
        transforms.RandomResizedCrop(a.size), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    dataset = torchvision.datasets.ImageFolder(a.dir + "/train", transform=transform)
    print(f"# torch {torch.__version__}, torchvision {torchvision.__version__}, Pillow "
          f"{__import__('PIL').__version__}; in this process, one thread: {in_process_ms(dataset):.2f} ms/image")
    for w in (int(x) for x in a.workers.split(",")):
        rate = measure(dataset, w, a.batch_size, a.repeats)
        print(f"{'torchvision':<10} {w:>8} {rate:>12.1f} {rate / w:>20.1f}", flush=True)


if __name__ == "__main__":
    main()
