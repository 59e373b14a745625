#!/usr/bin/python3
"""Float32 matmul: normgrad (bench/matmul_bench.cc) against PyTorch, same shapes, same thread count,
in one run. Prints one table with median times, GFLOP/s and the time ratio.

Run from anywhere with Debian's Python (the one that has torch):
    /usr/bin/python3 bench/matmul_bench.py [--threads 2] [--reps 21]
"""

import argparse
import os
import statistics
import subprocess
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ours(threads, reps):
    subprocess.run(["bazel", "build", "//bench:matmul_bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run([os.path.join(ROOT, "bazel-bin/bench/matmul_bench"), f"--threads={threads}",
                          f"--reps={reps}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.strip().splitlines():
        name, batch, m, k, n, ms = line.split(",")
        rows.append((name, int(batch), int(m), int(k), int(n), float(ms)))
    return rows


def torch_ms(batch, m, k, n, reps):
    gen = torch.Generator().manual_seed(0)
    a = torch.randn((batch, m, k) if batch else (m, k), generator=gen)
    b = torch.randn((batch, k, n) if batch else (k, n), generator=gen)
    start, i = time.perf_counter(), 0  # warm-up as in matmul_bench.cc: at least 3 calls and 50 ms
    while i < 3 or time.perf_counter() - start < 0.05:
        torch.matmul(a, b)
        i += 1
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def nominal_peak_gflops(threads):
    """threads x clock x 32 float32 flops per cycle (two 8-wide FMA units), from /proc/cpuinfo's clock."""
    try:
        with open("/proc/cpuinfo") as f:
            mhz = max(float(line.split(":")[1]) for line in f if line.startswith("cpu MHz"))
        return threads * mhz * 32 / 1e3
    except (OSError, ValueError):
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=21)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = ours(args.threads, args.reps)
    header = f"{'size':>26} {'ours ms':>9} {'torch ms':>9} {'ours GFLOP/s':>13} {'torch GFLOP/s':>14} " \
             f"{'ours/torch time':>16}"
    print(f"float32 matmul, {args.threads} threads, median of {args.reps} (torch {torch.__version__})")
    print(header)
    print("-" * len(header))
    for name, batch, m, k, n, ms in rows:
        tms = torch_ms(batch, m, k, n, args.reps)
        flops = 2.0 * max(batch, 1) * m * k * n
        shape = f"{batch}x" if batch else ""
        shape += f"[{m}x{k}]x[{k}x{n}]"
        print(f"{shape:>26} {ms:9.3f} {tms:9.3f} {flops / ms / 1e6:13.1f} {flops / tms / 1e6:14.1f} "
              f"{ms / tms:16.2f}")
    peak = nominal_peak_gflops(args.threads)
    if peak:
        print(f"nominal float32 peak: {peak:.0f} GFLOP/s ({args.threads} threads x 32 flops/cycle at the clock in "
              "/proc/cpuinfo; turbo clocks can exceed it)")


if __name__ == "__main__":
    main()
