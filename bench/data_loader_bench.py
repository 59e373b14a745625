#!/usr/bin/python3
"""CIFAR-10 input pipeline: normgrad's loader (bench/data_loader_bench.cc) against the same pipeline in
PyTorch tensor ops, and how long a training step waits for data. Prints two tables.

1. Preparing one batch of 128 (random crop of the image padded by 4 black pixels, horizontal flip with
   probability 1/2, ToTensor and Normalize with the CIFAR-10 mean and std) on one thread: median ms.
   PyTorch's side uses torch ops on a uint8 tensor (torchvision is not installed here; its PIL-based
   per-image transforms would be slower still).
2. Time per batch that the training loop blocks in Next(), while a simulated step keeps --threads kernel
   threads busy for --step_ms (a ResNet-20 step at batch 128 on 2 cores takes about 250 ms).

Run from anywhere with Debian's Python (the one that has torch):
    /usr/bin/python3 bench/data_loader_bench.py [--data_dir DIR] [--threads 2] [--step_ms 60] [--batches 60]
"""

import argparse
import os
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
STD = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)


def ours(args):
    subprocess.run(["bazel", "build", "//bench:data_loader_bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cmd = [os.path.join(ROOT, "bazel-bin/bench/data_loader_bench"), f"--threads={args.threads}",
           f"--step_ms={args.step_ms}", f"--batches={args.batches}"]
    if args.data_dir:
        cmd.append(f"--data_dir={args.data_dir}")
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    prepare, waits = None, []
    for line in out.strip().splitlines():
        fields = line.split(",")
        if fields[0] == "prepare":
            prepare = float(fields[1])
        else:
            waits.append([int(fields[1]), int(fields[2])] + [float(f) for f in fields[3:]])
    return prepare, waits


def torch_prepare_ms(batches):
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (128 * batches, 3, 32, 32), dtype=torch.uint8, generator=gen)
    order = torch.randperm(images.shape[0], generator=gen)
    times = []
    for b in range(batches):
        t0 = time.perf_counter()
        x = F.pad(images[order[128 * b:128 * (b + 1)]], (4, 4, 4, 4))
        dy = torch.randint(0, 9, (128,), generator=gen).tolist()
        dx = torch.randint(0, 9, (128,), generator=gen).tolist()
        flip = torch.rand(128, generator=gen) < 0.5
        crops = torch.stack([x[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32] for i in range(128)])
        crops[flip] = crops[flip].flip(3)
        crops.float().div_(255).sub_(MEAN).div_(STD)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data_dir", default="")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--step_ms", type=float, default=60)
    parser.add_argument("--batches", type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(1)

    prepare, waits = ours(args)
    tms = torch_prepare_ms(args.batches)
    print(f"Preparing a CIFAR-10 batch of 128 (pad-4 crop, flip, normalize), 1 thread, median of "
          f"{args.batches} (torch {torch.__version__})")
    header = f"{'ours ms':>9} {'torch ms':>9} {'ours/torch time':>16} {'ours MB/s out':>14}"
    print(header)
    print("-" * len(header))
    print(f"{prepare:9.3f} {tms:9.3f} {prepare / tms:16.2f} {128 * 3072 * 4 / prepare / 1e3:14.0f}")
    print()
    print(f"Training loop waiting for data: {args.batches} batches, step = {args.step_ms:.0f} ms with "
          f"{args.threads} busy kernel threads")
    header = (f"{'workers':>8} {'prefetch':>9} {'wait ms/batch':>14} {'max wait ms':>12} "
              f"{'prepare ms/batch':>17} {'wall ms/batch':>14}")
    print(header)
    print("-" * len(header))
    for workers, prefetch, _, wait, max_wait, prep, wall in waits:
        print(f"{workers:8d} {prefetch:9d} {wait:14.4f} {max_wait:12.4f} {prep:17.3f} {wall:14.2f}")
    print("(workers 0: each batch is prepared inside Next(), so its whole preparation is waiting)")


if __name__ == "__main__":
    main()
