#!/usr/bin/python3
"""Where a ResNet-20 training step spends its time, by op family: normgrad next to PyTorch.

normgrad: bench/resnet_step_bench (--no-eval) under `perf record --call-graph dwarf` (software cpu-clock
samples, so it works without hardware counters) over the timed steps only (the bench prints when they
ran; the warm-up step's first touches of memory are left out); each sample goes to the op whose function
is nearest to it on the call stack (a memset inside a convolution counts as convolution, a page fault as
the op that touched the page). PyTorch: torch.autograd.profiler over the same steps, each op's self CPU
time going to the op family of its outermost recorded caller (an add_ inside SGD.step counts as the
optimizer).
Both at one thread by default, where every op runs on the calling thread and the split is exact.

The step times in the table are CPU times per step split by those shares. On a loaded machine they are
steadier than wall times, but still not a benchmark: bench/resnet_step_bench.py is.

    /usr/bin/python3 bench/resnet_step_profile.py [--batch 128] [--steps 5] [--threads 1] [--no-torch]
        [--binary path/to/another/resnet_step_bench]
"""

import argparse
import collections
import json
import os
import re
import subprocess
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "bazel-bin/bench/resnet_step_bench")

# Op families: (name, pattern for our stack frames, pattern for PyTorch's profiler events). The first
# family whose pattern matches decides, so the specific ones come first.
FAMILIES = [
    ("convolution backward", r"conv2d_backward|Conv2dBackward", r"ConvolutionBackward|convolution_backward"),
    ("convolution forward", r"conv2d|Conv2d|DirectConv|cpu::.*Conv|Im2col|Col2im", r"conv|Conv"),
    ("batch norm backward", r"batch_norm_backward|NormBackward|BackwardRuns|Backward<\w+>\(normgrad::cpu::NormLayout",
     r"BatchNormBackward|batch_norm_backward"),
    ("batch norm forward", r"batch_norm|BatchNorm|NormForward|ChannelAffine|cpu::.*Norm", r"batch_norm|BatchNorm"),
    ("add + relu (residual)", r"add_relu|AddRelu", r"^$"),
    ("relu", r"normgrad::relu|relu_backward|ReluBackward", r"relu|Relu|threshold_backward|clamp_min"),
    ("shortcut (slice, pad, cat)", r"ZeroPadShortcut|normgrad::cat|normgrad::slice|slice_scatter|ZerosWithWindow",
     r"pad|Pad|slice|Slice|aten::cat|CatBackward"),
    ("pool, linear, loss", r"pool2d|Pool2d|linear|Linear|cross_entropy|CrossEntropy|softmax|Softmax|matmul|flatten",
     r"pool|Pool|linear|addmm|Addmm|aten::mm|cross_entropy|softmax|Softmax|nll|Nll|flatten|aten::t\b|TBackward|"
     r"view|View|mean|Mean"),
    ("optimizer step", r"optim::SGD|SgdStep", r"Optimizer\.step"),
    ("zero_grad", r"zero_grad", r"zero_grad"),
    ("add (residual, gradient sums)", r"normgrad::add\b|kernels::add|Accumulate",
     r"aten::add\b|AddBackward|AccumulateGrad"),
    ("autograd engine, allocation", r"autograd::|Storage|AllocateBlock|FreeBlock|malloc|free\b|TensorImpl",
     r"autograd::engine|detach|empty|aten::to\b|copy_|fill_|zero_"),
]
# A sample in the timed steps lies under one of these (the rest: the bench's own bookkeeping).
STEP_FRAMES = re.compile(r"ResNet::forward|Tensor::backward|cross_entropy|Optimizer::zero_grad|SGD::step")


def family_of(frames, column):
    for frame in frames:
        for fam in FAMILIES:
            if re.search(fam[column], frame):
                return fam[0]
    return "other"


def ours(binary, batch, steps, threads):
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        command = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "1000", "-k", "CLOCK_MONOTONIC", "--call-graph",
                   "dwarf,16384", "-o", data, binary, f"--batch={batch}", f"--steps={steps}", "--warmup=1",
                   f"--threads={threads}", "--no-eval", "--summary"]
        run = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        cpu_ms = float(re.search(r"CPU time ([\d.]+) ms", run)[1])
        begin, end = map(float, re.search(r"monotonic clock ([\d.]+) to ([\d.]+) s", run).groups())
        script = subprocess.run(["perf", "script", "-i", data, "-F", "time,ip,sym"], capture_output=True,
                                text=True, check=True).stdout
    counts = collections.Counter()
    for block in script.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines or not begin <= float(lines[0].strip().rstrip(":")) <= end:
            continue  # the warm-up step (first touches of memory), model construction, process start
        frames = [line.strip().split(" ", 1)[-1] for line in lines[1:]]
        if not any(STEP_FRAMES.search(f) for f in frames):
            continue
        # Leaf first: the nearest op on the stack decides.
        counts[family_of(frames, 1)] += 1
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()}, cpu_ms


def torch_side(python, batch, steps, threads):
    code = textwrap.dedent(f"""
        import json, time, torch
        import torch.nn as nn, torch.nn.functional as F
        torch.set_num_threads({threads})
        src = open({os.path.join(ROOT, "bench/resnet_step_bench.py")!r}).read()
        body = src[src.index("    class BasicBlock"):src.index("    torch.manual_seed(0)")]
        exec(__import__("textwrap").dedent(body))
        model = ResNet20()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
        x, y = torch.randn({batch}, 3, 32, 32), torch.randint(0, 10, ({batch},))
        def step():
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        step()
        cpu0 = time.process_time()
        for _ in range({steps}):
            step()
        cpu_ms = (time.process_time() - cpu0) / {steps} * 1e3
        with torch.autograd.profiler.profile() as prof:
            for _ in range({steps}):
                step()
        out = {{}}
        for e in prof.function_events:
            chain, p = [], e
            while p is not None:
                chain.append(p.name)
                p = p.cpu_parent
            out.setdefault("\\x1f".join(chain), 0)
            out["\\x1f".join(chain)] += e.self_cpu_time_total
        print(json.dumps({{"version": torch.__version__, "cpu_ms": cpu_ms, "chains": out}}))
    """)
    res = json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True,
                                    env=dict(os.environ, OMP_NUM_THREADS=str(threads))).stdout)
    counts = collections.Counter()
    for chain, us in res["chains"].items():
        # Root first: the outermost recorded op decides (aten::add_ inside SGD.step is the optimizer's).
        counts[family_of(list(reversed(chain.split("\x1f"))), 2)] += us
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()}, res["cpu_ms"], res["version"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--torch-python", default="/usr/bin/python3")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--binary", default=BINARY, help="the resnet_step_bench to profile (default: bazel-bin's)")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build and args.binary == BINARY:
        subprocess.run(["bazel", "build", "//bench:resnet_step_bench"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shares, cpu_ms = ours(args.binary, args.batch, args.steps, args.threads)
    columns = [("normgrad", shares, cpu_ms)]
    if not args.no_torch:
        t_shares, t_cpu, version = torch_side(args.torch_python, args.batch, args.steps, args.threads)
        columns.append((f"torch {version}", t_shares, t_cpu))
    names = [f[0] for f in FAMILIES] + ["other"]
    print(f"ResNet-20 training step, batch {args.batch}, {args.threads} thread(s): CPU ms per step by op family "
          f"(share of the step)")
    header = f"{'':<32}" + "".join(f"{label:>24}" for label, _, _ in columns)
    print(header)
    print("-" * len(header))
    for name in names:
        cells = "".join(f"{s.get(name, 0) * ms:14.1f} ({s.get(name, 0) * 100:5.1f}%)" for _, s, ms in columns)
        print(f"{name:<32}{cells}")
    print(f"{'total':<32}" + "".join(f"{ms:14.1f} (100.0%)" for _, _, ms in columns))


if __name__ == "__main__":
    main()
