#!/usr/bin/python3
"""Float32 conv2d over the convolutions of a CIFAR ResNet-20 at batch 128: normgrad (bench/conv_bench.cc)
against PyTorch, same shapes, same thread count, in one run. Each pass (forward, backward-input,
backward-weight) gets its median time, the ratio, GFLOP/s and the fraction of the machine's float32 GEMM
rate (a 1024^3 sgemm, measured in the same run); then the total over one ResNet-20 training step, each
convolution weighted by how often the network has it.

On a shared machine the load changes from second to second: the two sides run in alternating rounds
and every number is the median over rounds. When other processes keep every core busy, --cpu-time with
--threads 1 times each side's own CPU time (the calling thread's), which the time slicing leaves alone.

--im2col adds a column with the im2col + OpenBLAS sgemm path (the reference the direct kernels replace),
--direct one with the direct kernels, which the dispatch replaces by Winograd for the 3 x 3 stride-1
layers but the 3-channel stem (the other rows time the same code twice).

Run from anywhere with Debian's Python (the one that has torch):
    /usr/bin/python3 bench/conv_bench.py [--threads 2] [--rounds 3] [--reps 5] [--cpu-time] [--im2col]
        [--direct]
"""

import argparse
import collections
import os
import statistics
import subprocess
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSES = ("forward", "backward_input", "backward_weight")
# How many times a ResNet-20 (1x1 projection shortcuts) has each convolution of conv_bench.cc.
COUNT = {"stem": 1, "stage1": 6, "down2": 1, "stage2": 5, "down3": 1, "stage3": 5, "proj2": 1, "proj3": 1}


def build():
    subprocess.run(["bazel", "build", "//bench:conv_bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ours(threads, reps, batch, cpu_time, path=None):
    """path: None (the dispatch), "im2col" or "direct" (conv_bench.cc's switches)."""
    command = [os.path.join(ROOT, "bazel-bin/bench/conv_bench"), f"--threads={threads}", f"--reps={reps}",
               f"--batch={batch}"] + (["--cpu-time"] if cpu_time else []) + ([f"--{path}"] if path else [])
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    layers, times, sgemm = [], {}, None
    for line in out.strip().splitlines():
        fields = line.split(",")
        if fields[0] == "conv":
            name, cin, cout, size, kernel, stride, pass_, ms = fields[1:]
            layer = (name, int(cin), int(cout), int(size), int(kernel), int(stride))
            if layer not in layers:
                layers.append(layer)
            times[(name, pass_)] = float(ms)
        elif fields[0] == "sgemm":
            sgemm = (int(fields[1]), float(fields[2]))
    return layers, times, sgemm


def median_ms(fn, reps, clock):
    start, i = clock(), 0  # warm-up as in conv_bench.cc: at least 3 calls and 50 ms
    while i < 3 or clock() - start < 0.05:
        fn()
        i += 1
    times = []
    for _ in range(reps):
        t0 = clock()
        fn()
        times.append((clock() - t0) * 1e3)
    return statistics.median(times)


def theirs(layers, reps, batch, clock):
    gen = torch.Generator().manual_seed(0)
    times = {}
    for name, cin, cout, size, kernel, stride in layers:
        pad = kernel // 2
        x = torch.randn(batch, cin, size, size, generator=gen)
        w = torch.randn(cout, cin, kernel, kernel, generator=gen)
        y = torch.nn.functional.conv2d(x, w, None, stride, pad)
        dy = torch.randn(y.shape, generator=gen)
        args = (dy, x, w, None, [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1)
        fns = {
            "forward": lambda: torch.nn.functional.conv2d(x, w, None, stride, pad),
            "backward_input": lambda: torch.ops.aten.convolution_backward(*args, [True, False, False]),
            "backward_weight": lambda: torch.ops.aten.convolution_backward(*args, [False, True, False]),
        }
        for pass_, fn in fns.items():
            times[(name, pass_)] = median_ms(fn, reps, clock)
    n = 1024
    a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    return times, (n, median_ms(lambda: torch.matmul(a, b), reps, clock))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--im2col", action="store_true", help="also time the im2col + sgemm path")
    parser.add_argument("--direct", action="store_true", help="also time the direct kernels (no Winograd)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time each side's calling-thread CPU time (use with --threads 1)")
    args = parser.parse_args()
    if args.cpu_time and args.threads != 1:
        parser.error("--cpu-time measures one thread: use it with --threads 1")
    clock = time.thread_time if args.cpu_time else time.perf_counter
    torch.set_num_threads(args.threads)
    build()

    ours_rounds, theirs_rounds = collections.defaultdict(list), collections.defaultdict(list)
    paths = [path for path in ("im2col", "direct") if getattr(args, path)]
    path_rounds = {path: collections.defaultdict(list) for path in paths}
    for _ in range(args.rounds):
        layers, times, sgemm = ours(args.threads, args.reps, args.batch, args.cpu_time)
        for key, ms in times.items():
            ours_rounds[key].append(ms)
        ours_rounds["sgemm"].append(sgemm[1])
        for path in paths:
            for key, ms in ours(args.threads, args.reps, args.batch, args.cpu_time, path)[1].items():
                path_rounds[path][key].append(ms)
        times, torch_sgemm = theirs(layers, args.reps, args.batch, clock)
        for key, ms in times.items():
            theirs_rounds[key].append(ms)
        theirs_rounds["sgemm"].append(torch_sgemm[1])
    med = {key: statistics.median(v) for key, v in ours_rounds.items()}
    tmed = {key: statistics.median(v) for key, v in theirs_rounds.items()}
    pmed = {path: {key: statistics.median(v) for key, v in rounds.items()} for path, rounds in path_rounds.items()}
    n = sgemm[0]
    gemm_rate = 2.0 * n ** 3 / min(med["sgemm"], tmed["sgemm"]) / 1e6

    print(f"float32 conv2d, ResNet-20 convolutions at batch {args.batch}, {args.threads} threads, median of "
          f"{args.rounds} rounds x {args.reps} reps of {'thread CPU' if args.cpu_time else 'wall'} time "
          f"(torch {torch.__version__})")
    print(f"sgemm {n}^3: ours {med['sgemm']:.2f} ms, torch {tmed['sgemm']:.2f} ms -> GEMM rate "
          f"{gemm_rate:.0f} GFLOP/s")
    header = (f"{'conv':>30} {'pass':>15} {'ours ms':>8} {'torch ms':>9} {'ours/torch':>10} {'ours GF/s':>9} "
              f"{'torch GF/s':>10} {'ours %gemm':>10}" + "".join(f" {path + ' ms':>9}" for path in paths))
    print(header)
    print("-" * len(header))
    step_ours = step_theirs = 0.0
    step_paths = dict.fromkeys(paths, 0.0)
    for name, cin, cout, size, kernel, stride in layers:
        out = (size + 2 * (kernel // 2) - kernel) // stride + 1
        flops = 2.0 * args.batch * cout * cin * kernel * kernel * out * out
        label = f"{name} {cin}->{cout} {size}x{size} k{kernel} s{stride}"
        for pass_ in PASSES:
            ms, tms = med[(name, pass_)], tmed[(name, pass_)]
            gf, tgf = flops / ms / 1e6, flops / tms / 1e6
            print(f"{label:>30} {pass_:>15} {ms:8.3f} {tms:9.3f} {ms / tms:10.2f} {gf:9.0f} {tgf:10.0f} "
                  f"{100 * gf / gemm_rate:9.0f}%" + "".join(f" {pmed[path][(name, pass_)]:9.3f}" for path in paths))
            # The stem's input is the image, which needs no gradient: a training step skips that pass.
            weight = 0 if (name == "stem" and pass_ == "backward_input") else COUNT[name]
            step_ours += weight * ms
            step_theirs += weight * tms
            for path in paths:
                step_paths[path] += weight * pmed[path][(name, pass_)]
    print("-" * len(header))
    print(f"ResNet-20 step (each convolution x its count; no backward-input for the stem): ours "
          f"{step_ours:.1f} ms, torch {step_theirs:.1f} ms, ours/torch {step_ours / step_theirs:.2f}"
          + "".join(f"; {path} {ms:.1f} ms" for path, ms in step_paths.items()))


if __name__ == "__main__":
    main()
