#!/usr/bin/python3
"""Moves a CIFAR ResNet-20 between PyTorch and normgrad through safetensors files, both ways, and checks
that both frameworks give the same eval-mode logits for the same input.

  PyTorch -> normgrad: a PyTorch ResNet-20 (tools/cifar_resnet_torch.py) with non-trivial running
      statistics is saved with safetensors.torch.save_file; normgrad loads it strictly and computes logits.
  normgrad -> PyTorch: normgrad saves its ResNet-20; safetensors.torch.load_file reads it and PyTorch's
      model loads it with load_state_dict(strict=True) and computes logits.

Needs PyTorch and the `safetensors` package (Debian's python3-torch has no safetensors: make a venv that
sees it, `python3 -m venv --system-site-packages VENV && VENV/bin/pip install safetensors`) and the
program `bazel build //tools:resnet_safetensors`.

  VENV/bin/python tools/safetensors_roundtrip.py [--binary bazel-bin/tools/resnet_safetensors] [--workdir DIR]

Prints the largest logit difference of each direction; exits 1 if one exceeds the tolerance.
"""
import argparse
import pathlib
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from cifar_resnet_torch import cifar_resnet  # noqa: E402

DEPTH = 20
TOLERANCE = 1e-4  # float32 logits of order 1, computed in different orders


def run(binary, *args):
    subprocess.run([str(binary), *map(str, args)], check=True)


def ours(binary, model_path, x, work):
    save_file({"x": x.contiguous()}, str(work / "input.safetensors"))
    run(binary, "logits", DEPTH, model_path, work / "input.safetensors", work / "logits.safetensors")
    return load_file(str(work / "logits.safetensors"))["logits"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default="bazel-bin/tools/resnet_safetensors")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    work = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="safetensors_roundtrip."))
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    x = torch.randn(4, 3, 32, 32)
    worst = 0.0

    # PyTorch -> normgrad
    model = cifar_resnet(DEPTH, "A")
    model.train()
    with torch.no_grad():
        model(torch.randn(16, 3, 32, 32) * 2 + 0.5)  # running statistics away from 0 and 1
    model.eval()
    save_file(model.state_dict(), str(work / "from_pytorch.safetensors"), metadata={"format": "pt"})
    with torch.no_grad():
        expected = model(x)
    diff = (ours(args.binary, work / "from_pytorch.safetensors", x, work) - expected).abs().max().item()
    print(f"PyTorch -> normgrad: ResNet-{DEPTH}, {len(model.state_dict())} tensors, "
          f"max |logit difference| = {diff:.3g}")
    worst = max(worst, diff)

    # normgrad -> PyTorch
    run(args.binary, "save", DEPTH, 7, work / "from_normgrad.safetensors")
    state = load_file(str(work / "from_normgrad.safetensors"))
    model = cifar_resnet(DEPTH, "A")
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        expected = model(x)
    tracked = int(state["bn1.num_batches_tracked"])
    diff = (ours(args.binary, work / "from_normgrad.safetensors", x, work) - expected).abs().max().item()
    print(f"normgrad -> PyTorch: ResNet-{DEPTH}, {len(state)} tensors (bn1.num_batches_tracked = {tracked}), "
          f"max |logit difference| = {diff:.3g}")
    worst = max(worst, diff)

    ok = worst <= TOLERANCE
    print(f"{'OK' if ok else 'FAILED'}: largest difference {worst:.3g} (tolerance {TOLERANCE:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
