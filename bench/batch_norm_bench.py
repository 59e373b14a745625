#!/usr/bin/python3
"""Float32 batch norm: normgrad (bench/batch_norm_bench.cc) against PyTorch, same shapes, same thread
count, in one run. Prints one table with median times, the time ratio and the achieved bandwidth,
counted over the passes a kernel cannot avoid (forward: read x, write y; backward: read x and dy, write
dx), also as a fraction of the machine's copy bandwidth measured by the C++ program.

On a shared machine the noise comes in bursts, so ours and PyTorch's runs alternate for --rounds rounds
and each time is the median over the rounds of the per-round medians. The last column is the ratio of
the fastest times seen (the least disturbed runs), a check on the medians when the machine is busy.

Run from anywhere with Debian's Python (the one that has torch):
    /usr/bin/python3 bench/batch_norm_bench.py [--threads 2] [--reps 21] [--rounds 3]
"""

import argparse
import os
import statistics
import subprocess
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSES = {"forward_train": 2, "forward_eval": 2, "backward": 3}  # tensor-sized reads + writes


def build():
    subprocess.run(["bazel", "build", "//bench:batch_norm_bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ours(threads, reps):
    """[(shape, pass, median_ms, min_ms)] and the copy bandwidth in GB/s (from the median time)."""
    out = subprocess.run([os.path.join(ROOT, "bazel-bin/bench/batch_norm_bench"), f"--threads={threads}",
                          f"--reps={reps}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    rows, copy = [], None
    for line in out.strip().splitlines():
        a, b, ms, best = line.split(",")
        if a == "copy":
            copy = int(b) / float(ms) / 1e6
        else:
            rows.append(([int(s) for s in a.split("x")], b, float(ms), float(best)))
    return rows, copy


def timing(fn, reps):
    """(median_ms, min_ms) of fn, after a warm-up as in batch_norm_bench.cc: at least 3 calls and 50 ms."""
    start, i = time.perf_counter(), 0
    while i < 3 or time.perf_counter() - start < 0.05:
        fn()
        i += 1
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def torch_timing(shape, which, reps):
    gen = torch.Generator().manual_seed(0)
    c = shape[1]
    x = torch.randn(shape, generator=gen) * 2 + 1
    dy = torch.randn(shape, generator=gen)
    w = torch.randn(c, generator=gen) * 0.1 + 1
    b = torch.randn(c, generator=gen)
    rm, rv = torch.zeros(c), torch.ones(c)
    if which == "forward_train":
        return timing(lambda: torch.nn.functional.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5), reps)
    if which == "forward_eval":
        return timing(lambda: torch.nn.functional.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-5), reps)
    _, save_mean, save_invstd = torch.ops.aten.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)
    return timing(lambda: torch.ops.aten.native_batch_norm_backward(
        dy, x, w, None, None, save_mean, save_invstd, True, 1e-5, [True, True, True]), reps)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    build()
    ours_t, torch_t, copies = {}, {}, []
    with torch.no_grad():
        for _ in range(args.rounds):
            rows, copy = ours(args.threads, args.reps)
            copies.append(copy)
            for shape, which, ms, best in rows:
                key = (tuple(shape), which)
                ours_t.setdefault(key, []).append((ms, best))
                torch_t.setdefault(key, []).append(torch_timing(shape, which, args.reps))
    copy = statistics.median(copies)
    header = f"{'shape':>18} {'pass':>14} {'ours ms':>9} {'torch ms':>9} {'ours/torch':>11} " \
             f"{'ours GB/s':>10} {'torch GB/s':>11} {'ours % copy':>12} {'min ours/torch':>15}"
    print(f"float32 batch norm, {args.threads} threads, median of {args.rounds} rounds x {args.reps} reps "
          f"(torch {torch.__version__}); copy bandwidth {copy:.1f} GB/s")
    print(header)
    print("-" * len(header))
    for (shape, which), times in ours_t.items():
        ms = statistics.median(t[0] for t in times)
        tms = statistics.median(t[0] for t in torch_t[(shape, which)])
        best = min(t[1] for t in times) / min(t[1] for t in torch_t[(shape, which)])
        numel = 1
        for s in shape:
            numel *= s
        gb = PASSES[which] * numel * 4 / 1e9
        name = "[" + ", ".join(map(str, shape)) + "]"
        print(f"{name:>18} {which:>14} {ms:9.3f} {tms:9.3f} {ms / tms:11.2f} {gb / ms * 1e3:10.1f} "
              f"{gb / tms * 1e3:11.1f} {100 * gb / ms * 1e3 / copy:11.0f}% {best:15.2f}")


if __name__ == "__main__":
    main()
