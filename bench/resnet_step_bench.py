#!/usr/bin/python3
"""Whole ResNet-20 training steps on CIFAR-sized batches: normgrad (bench/resnet_step_bench.cc) against
PyTorch training the same network the same way, same thread count, in one run.

One step: loss = cross_entropy(model(x), y); opt.zero_grad(); loss.backward(); opt.step(), with SGD
(Nesterov momentum 0.9, weight decay 5e-4 off the batch-norm parameters), random float32 images
[B, 3, 32, 32] and int64 labels. Both sides set gradients to none in zero_grad. The PyTorch model is the
CIFAR ResNet-20 of He et al. (option-A shortcuts: strided identity with zero-padded channels), as in
akamaster/pytorch_resnet_cifar10; the initialization differs, which does not change the time.

Each PyTorch interpreter (--torch-python, repeatable; by default Debian's /usr/bin/python3 with torch 1.13
and, when it exists, /work/venv-torch/bin/python) runs this file as a worker that keeps its model between
rounds. On a shared machine the load changes from second to second, so the sides run in alternating
rounds (the order rotating each round), each round a warm-up and then timed steps; the table shows the
median over every timed step of every round. Ratios are images/s over the first torch's. Below the table,
the training ratio of each round on its own (the sides of a round run back to back, under the same load)
and their median, which a drift of the machine's speed between rounds moves less.

Run from the repository root or anywhere:
    /usr/bin/python3 bench/resnet_step_bench.py [--threads 2] [--batch 128 --batch 32] [--rounds 3]
        [--steps 5] [--warmup 2] [--phases] [--torch-python PATH ...] [--compare LABEL=PATH ...]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "bazel-bin/bench/resnet_step_bench")
DEFAULT_PYTHONS = ["/usr/bin/python3", "/work/venv-torch/bin/python"]
PHASES = ("forward", "loss", "zero_grad", "backward", "step")


# ---- the PyTorch side (runs inside each torch interpreter, with --worker)

def torch_worker(threads):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)

    class BasicBlock(nn.Module):
        def __init__(self, in_planes, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.stride = stride
            self.pad = (planes - in_planes) // 2 if stride != 1 or in_planes != planes else None

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            shortcut = x
            if self.pad is not None:
                shortcut = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
            return F.relu(out + shortcut)

    class ResNet20(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            blocks, in_planes = [], 16
            for stage, planes in enumerate((16, 32, 64)):
                for b in range(3):
                    blocks.append(BasicBlock(in_planes, planes, 2 if stage > 0 and b == 0 else 1))
                    in_planes = planes
            self.layers = nn.Sequential(*blocks)
            self.linear = nn.Linear(64, 10)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = self.layers(x)
            return self.linear(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    torch.manual_seed(0)
    model = ResNet20()
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0}],
                          lr=0.1, momentum=0.9, nesterov=True)
    print(json.dumps({"version": torch.__version__}), flush=True)
    for line in sys.stdin:
        batch, steps, warmup = map(int, line.split())
        x = torch.randn(batch, 3, 32, 32)
        y = torch.randint(0, 10, (batch,))
        model.train()
        train = []
        for s in range(warmup + steps):
            cpu0 = time.process_time()
            t = [time.perf_counter()]
            logits = model(x)
            t.append(time.perf_counter())
            loss = F.cross_entropy(logits, y)
            t.append(time.perf_counter())
            opt.zero_grad(set_to_none=True)
            t.append(time.perf_counter())
            loss.backward()
            t.append(time.perf_counter())
            opt.step()
            t.append(time.perf_counter())
            if s >= warmup:
                train.append([(t[-1] - t[0]) * 1e3] + [(t[i + 1] - t[i]) * 1e3 for i in range(len(PHASES))] +
                             [(time.process_time() - cpu0) * 1e3])
        model.eval()
        evals = []
        with torch.no_grad():
            for s in range(warmup + steps):
                cpu0, t0 = time.process_time(), time.perf_counter()
                model(x)
                if s >= warmup:
                    evals.append([(time.perf_counter() - t0) * 1e3, (time.process_time() - cpu0) * 1e3])
        print(json.dumps({"train": train, "eval": evals}), flush=True)


# ---- the driver

class Torch:
    def __init__(self, python, threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        self.proc = subprocess.Popen([python, os.path.abspath(__file__), "--worker", f"--threads={threads}"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.version = json.loads(self.proc.stdout.readline())["version"]
        self.label = f"torch {self.version}"
        self.path = python

    def run(self, batch, steps, warmup):
        self.proc.stdin.write(f"{batch} {steps} {warmup}\n")
        self.proc.stdin.flush()
        out = json.loads(self.proc.stdout.readline())
        return out["train"], out["eval"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


class Ours:
    def __init__(self, threads, binary=BINARY, label="normgrad"):
        self.threads = threads
        self.path = binary
        self.label = label

    def run(self, batch, steps, warmup):
        out = subprocess.run([self.path, f"--threads={self.threads}", f"--batch={batch}", f"--steps={steps}",
                              f"--warmup={warmup}"], check=True, capture_output=True, text=True).stdout
        train, evals = [], []
        for line in out.strip().splitlines():
            fields = line.split(",")
            if fields[0] == "train":
                train.append([float(v) for v in fields[2:]])
            elif fields[0] == "eval":
                evals.append([float(v) for v in fields[2:]])
        return train, evals

    def close(self):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, action="append", help="batch sizes (default: 128 and 32)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per side per round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per side per round")
    parser.add_argument("--phases", action="store_true", help="also print each phase's median time")
    parser.add_argument("--torch-python", action="append",
                        help="an interpreter with torch (repeatable; default: those of DEFAULT_PYTHONS that exist)")
    parser.add_argument("--no-build", action="store_true", help="use the binary already in bazel-bin")
    parser.add_argument("--compare", action="append", metavar="LABEL=PATH",
                        help="another resnet_step_bench build to time alongside (e.g. before a change); repeatable")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        torch_worker(args.threads)
        return
    batches = args.batch or [128, 32]
    pythons = args.torch_python or [p for p in DEFAULT_PYTHONS if os.path.exists(p)]
    if not pythons:
        sys.exit("resnet_step_bench.py: no interpreter with torch found; pass --torch-python")
    if not args.no_build:
        subprocess.run(["bazel", "build", "//bench:resnet_step_bench"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    load_before = os.getloadavg()[0]
    others = [Ours(args.threads, path, f"normgrad {label}") for label, path in
              (spec.split("=", 1) for spec in args.compare or [])]
    sides = [Ours(args.threads)] + [Torch(p, args.threads) for p in pythons] + others
    for i, side in enumerate(sides):
        if any(other.label == side.label for other in sides[:i]):
            side.label += f" ({side.path})"
    train = {(s.label, b): [] for s in sides for b in batches}
    evals = {(s.label, b): [] for s in sides for b in batches}
    round_ms = {(s.label, b): [] for s in sides for b in batches}  # each round's median step time
    for r in range(args.rounds):
        order = sides[r % len(sides):] + sides[:r % len(sides)]
        for b in batches:
            for side in order:
                t, e = side.run(b, args.steps, args.warmup)
                train[(side.label, b)] += t
                evals[(side.label, b)] += e
                round_ms[(side.label, b)].append(statistics.median(row[0] for row in t))
    for side in sides:
        side.close()

    reference = sides[1].label
    print(f"ResNet-20 training step, {args.threads} threads, median of {args.rounds} rounds x {args.steps} steps "
          f"(after {args.warmup} warm-up steps each); ratio = images/s over {reference}'s")
    print(f"load average before and after: {load_before:.2f}, {os.getloadavg()[0]:.2f} (other processes on the "
          "machine slow both sides, PyTorch's OpenMP barriers the most)")
    print("cpu ms: the process's CPU time per step, all threads (waiting for a core left out, spinning counted)")
    header = f"{'batch':>5} {'':<24} {'ms/step':>9} {'images/s':>9} {'ratio':>6} {'cpu ms':>8}   {'eval ms':>8} " \
             f"{'eval img/s':>10} {'ratio':>6} {'cpu ms':>8}"
    print(header)
    print("-" * len(header))

    def medians(side, b):
        t, e = train[(side.label, b)], evals[(side.label, b)]
        return (statistics.median(r[0] for r in t), statistics.median(r[-1] for r in t),
                statistics.median(r[0] for r in e), statistics.median(r[1] for r in e))

    for b in batches:
        ref_ms, _, ref_eval, _ = medians(sides[1], b)
        for side in sides:
            ms, cpu, ems, ecpu = medians(side, b)
            print(f"{b:>5} {side.label:<24} {ms:9.2f} {b * 1e3 / ms:9.1f} {ref_ms / ms:6.2f} {cpu:8.1f}   "
                  f"{ems:8.2f} {b * 1e3 / ems:10.1f} {ref_eval / ems:6.2f} {ecpu:8.1f}")
    # The machine's speed drifts between rounds (neighbours on a shared host); within a round the sides run
    # back to back, so each round's ratio compares them under the same conditions.
    print()
    print(f"training ratio over {reference}, round by round (sides back to back; median, then each round):")
    for b in batches:
        ref_rounds = round_ms[(reference, b)]
        for side in sides:
            if side.label == reference:
                continue
            ratios = [ref / ours for ref, ours in zip(ref_rounds, round_ms[(side.label, b)])]
            print(f"{b:>5} {side.label:<24} {statistics.median(ratios):6.2f}   "
                  + " ".join(f"{x:.2f}" for x in ratios))
    if args.phases:
        print()
        header = f"{'batch':>5} {'':<24} " + " ".join(f"{p:>10}" for p in PHASES) + "   (median ms)"
        print(header)
        print("-" * len(header))
        for b in batches:
            for side in sides:
                rows = train[(side.label, b)]
                cells = " ".join(f"{statistics.median(r[i + 1] for r in rows):10.2f}" for i in range(len(PHASES)))
                print(f"{b:>5} {side.label:<24} {cells}")


if __name__ == "__main__":
    main()
