#!/usr/bin/env python3
"""Writes Fashion-MNIST in CIFAR-10's binary format, a stand-in of CIFAR-10's
sizes for a run of a CIFAR-10 recipe where CIFAR-10 itself is absent:
50,000 training images (data_batch_1..5.bin) and 10,000 test images
(test_batch.bin), each padded to 32x32, its three channels the image times
a random tint in [0.4, 1) plus a random offset in [0, 25) (seed 0).

    python3 scripts/fashion-as-cifar10.py /usr/share/datasets/fashion-mnist OUT
    strata train Tutorials/kmeans_triangle/cifar10.yaml --dataset OUT/cifar-10-batches-bin

Needs numpy. The accuracy such a run gives says nothing about CIFAR-10; its
time and memory are those of CIFAR-10's sizes."""
import gzip
import os
import sys

import numpy as np


def read_idx(path, offset):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def records(images, labels, rng):
    n = len(images)
    planes = np.zeros((n, 3, 32, 32), np.float32)
    planes[:, :, 2:30, 2:30] = images[:, None, :, :] * rng.uniform(0.4, 1.0, (n, 3, 1, 1)).astype(np.float32)
    planes += rng.uniform(0, 25, (n, 3, 1, 1))
    out = np.zeros((n, 3073), np.uint8)
    out[:, 0] = labels
    out[:, 1:] = np.clip(planes, 0, 255).reshape(n, -1).astype(np.uint8)
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, target = sys.argv[1], os.path.join(sys.argv[2], "cifar-10-batches-bin")
    def find(stem):
        for name in (stem + ".gz", stem):
            if os.path.exists(os.path.join(source, name)):
                return os.path.join(source, name)
        sys.exit(f"{source}: no {stem}[.gz]")
    train = read_idx(find("train-images-idx3-ubyte"), 16).reshape(-1, 28, 28)
    train_labels = read_idx(find("train-labels-idx1-ubyte"), 8)
    test = read_idx(find("t10k-images-idx3-ubyte"), 16).reshape(-1, 28, 28)
    test_labels = read_idx(find("t10k-labels-idx1-ubyte"), 8)
    os.makedirs(target, exist_ok=True)
    rng = np.random.default_rng(0)
    batches = records(train[:50000], train_labels[:50000], rng)
    for k in range(5):
        batches[k * 10000:(k + 1) * 10000].tofile(os.path.join(target, f"data_batch_{k + 1}.bin"))
    records(test, test_labels, rng).tofile(os.path.join(target, "test_batch.bin"))
    print(target)


if __name__ == "__main__":
    main()
