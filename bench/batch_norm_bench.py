#!/usr/bin/python3
"""Float32 batch norm: normgrad (bench/batch_norm_bench.cc) against PyTorch, same shapes, same thread
count, in one run. Prints one table with median times, the time ratio and the achieved bandwidth,
counted over the passes a kernel cannot avoid (forward: read x, write y; backward: read x and dy, write
dx), also as a fraction of the machine's copy bandwidth measured by the C++ program.

Run from anywhere with Debian's Python (the one that has torch):
    /usr/bin/python3 bench/batch_norm_bench.py [--threads 2] [--reps 21]
"""

import argparse
import os
import statistics
import subprocess
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSES = {"forward_train": 2, "forward_eval": 2, "backward": 3}  # tensor-sized reads + writes


def ours(threads, reps):
    subprocess.run(["bazel", "build", "//bench:batch_norm_bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run([os.path.join(ROOT, "bazel-bin/bench/batch_norm_bench"), f"--threads={threads}",
                          f"--reps={reps}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    rows, copy = [], None
    for line in out.strip().splitlines():
        a, b, ms = line.split(",")
        if a == "copy":
            copy = int(b) / float(ms) / 1e6  # GB/s
        else:
            rows.append(([int(s) for s in a.split("x")], b, float(ms)))
    return rows, copy


def median_ms(fn, reps):
    start, i = time.perf_counter(), 0  # warm-up as in batch_norm_bench.cc: at least 3 calls and 50 ms
    while i < 3 or time.perf_counter() - start < 0.05:
        fn()
        i += 1
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def torch_ms(shape, which, reps):
    gen = torch.Generator().manual_seed(0)
    c = shape[1]
    x = torch.randn(shape, generator=gen) * 2 + 1
    dy = torch.randn(shape, generator=gen)
    w = torch.randn(c, generator=gen) * 0.1 + 1
    b = torch.randn(c, generator=gen)
    rm, rv = torch.zeros(c), torch.ones(c)
    if which == "forward_train":
        return median_ms(lambda: torch.nn.functional.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5), reps)
    if which == "forward_eval":
        return median_ms(lambda: torch.nn.functional.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-5), reps)
    _, save_mean, save_invstd = torch.ops.aten.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)
    return median_ms(lambda: torch.ops.aten.native_batch_norm_backward(
        dy, x, w, None, None, save_mean, save_invstd, True, 1e-5, [True, True, True]), reps)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=21)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows, copy = ours(args.threads, args.reps)
    header = f"{'shape':>18} {'pass':>14} {'ours ms':>9} {'torch ms':>9} {'ours/torch':>11} " \
             f"{'ours GB/s':>10} {'torch GB/s':>11} {'ours % copy':>12}"
    print(f"float32 batch norm, {args.threads} threads, median of {args.reps} (torch {torch.__version__}); "
          f"copy bandwidth {copy:.1f} GB/s")
    print(header)
    print("-" * len(header))
    with torch.no_grad():
        for shape, which, ms in rows:
            tms = torch_ms(shape, which, args.reps)
            numel = 1
            for s in shape:
                numel *= s
            gb = PASSES[which] * numel * 4 / 1e9
            name = "[" + ", ".join(map(str, shape)) + "]"
            print(f"{name:>18} {which:>14} {ms:9.3f} {tms:9.3f} {ms / tms:11.2f} {gb / ms * 1e3:10.1f} "
                  f"{gb / tms * 1e3:11.1f} {100 * gb / ms * 1e3 / copy:11.0f}%")


if __name__ == "__main__":
    main()
