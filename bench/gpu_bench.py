#!/usr/bin/python3
"""CUDA: normgrad's batch norm (achieved GB/s against the device's peak bandwidth) and a ResNet-20
training step (images/s), from bench/gpu_bench.cc built with --config=cuda, next to PyTorch on the same
GPU in the same run where this Python's torch has CUDA (Debian's python3-torch does not: the torch columns
then read "-"). On a machine without a GPU it prints "no CUDA device: ..." and exits 0.

    /usr/bin/python3 bench/gpu_bench.py [--reps 21] [--batch 128]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ours(reps, batch):
    subprocess.run(["bazel", "build", "--config=cuda", "//bench:gpu_bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    binary = os.path.join(ROOT, "bazel-out/k8-opt-cuda/bin/bench/gpu_bench")
    return subprocess.run([binary, f"--reps={reps}", f"--batch={batch}"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout


def torch_cuda():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def median_ms(torch, fn, reps, inner):
    def sample():
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) * 1e3 / inner
    start, i = time.perf_counter(), 0
    while i < 3 or time.perf_counter() - start < 0.05:
        sample()
        i += 1
    return statistics.median(sample() for _ in range(reps))


def torch_batch_norm_ms(torch, shape, pass_name, reps):
    x = torch.randn(shape, device="cuda", requires_grad=pass_name == "backward_train")
    c = shape[1]
    w = torch.ones(c, device="cuda", requires_grad=True)
    b = torch.zeros(c, device="cuda", requires_grad=True)
    rm, rv = torch.zeros(c, device="cuda"), torch.ones(c, device="cuda")
    f = torch.nn.functional.batch_norm
    if pass_name == "forward_train":
        with torch.no_grad():
            return median_ms(torch, lambda: f(x, rm, rv, w, b, True, 0.1, 1e-5), reps, 20)
    y = f(x, rm, rv, w, b, True, 0.1, 1e-5)
    dy = torch.randn_like(y)
    return median_ms(torch, lambda: torch.autograd.grad(y, (x, w, b), dy, retain_graph=True), reps, 20)


def torch_resnet20_ms(torch, batch, reps):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
            self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
            self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                          if stride != 1 else nn.Identity())

        def forward(self, x):
            return torch.relu(self.b2(self.c2(torch.relu(self.b1(self.c1(x))))) + self.short(x))

    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for cout in (16, 32, 64):
        for b in range(3):
            layers.append(Block(cin, cout, 2 if cout != cin else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    model = nn.Sequential(*layers).cuda().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    x = torch.randn(batch, 3, 32, 32, device="cuda")
    y = torch.randint(0, 10, (batch,), device="cuda")

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return median_ms(torch, step, reps, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    out = ours(args.reps, args.batch)
    if out.startswith("no CUDA device"):
        print(out.strip())
        return 0
    torch = torch_cuda()
    rows = [line.split(",") for line in out.strip().splitlines()]
    peak = float(rows[0][1])
    print(f"CUDA, float32, median of {args.reps}; peak DRAM bandwidth {peak:.0f} GB/s, {rows[0][2]} SMs; "
          f"torch: {torch.__version__ + ' ' + torch.cuda.get_device_name() if torch else 'no CUDA'}")
    header = (f"{'batch norm':>16} {'pass':>15} {'ours ms':>9} {'torch ms':>9} {'ours GB/s':>10} {'% peak':>7} "
              f"{'ours/torch':>11}")
    print(header)
    print("-" * len(header))
    for row in rows[1:]:
        if row[0] != "batch_norm":
            continue
        shape, pass_name, ms, nbytes = row[1], row[2], float(row[3]), float(row[4])
        tms = torch_batch_norm_ms(torch, [int(s) for s in shape.split("x")], pass_name, args.reps) if torch else None
        gbs = nbytes / ms / 1e6
        torch_col, ratio_col = (f"{tms:9.4f}", f"{ms / tms:11.2f}") if tms else (f"{'-':>9}", f"{'-':>11}")
        print(f"{shape:>16} {pass_name:>15} {ms:9.4f} {torch_col} {gbs:10.0f} {100 * gbs / peak:7.1f} {ratio_col}")
    for row in rows[1:]:
        if row[0] != "resnet20_step":
            continue
        batch, ms = int(row[1]), float(row[2])
        tms = torch_resnet20_ms(torch, batch, args.reps) if torch else None
        print(f"ResNet-20 step, batch {batch}: ours {ms:.2f} ms ({batch / ms * 1e3:.0f} images/s)"
              + (f", torch {tms:.2f} ms ({batch / tms * 1e3:.0f} images/s), ours/torch {ms / tms:.2f}" if tms else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
