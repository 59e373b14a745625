#!/usr/bin/env bash
# Installs every Debian package normgrad needs to build, test and benchmark. Idempotent: packages already
# present are skipped, and apt is only consulted when something is missing.
set -euo pipefail

packages=(
  bazel-bootstrap          # Bazel 4.2.3, used fully offline (see third_party/)
  g++ pkg-config
  libabsl-dev              # Status, StatusOr, flags, strings
  libopenblas-dev          # CPU GEMM
  nlohmann-json3-dev       # checkpoint headers
  libgtest-dev libgmock-dev
  python3-torch python3-numpy   # reference fixtures and the PyTorch side of benchmarks (tools/, bench/)
  python3-torchvision      # the TrivialAugment fixtures (tools/make_augment_fixtures.py)
  python3-venv             # the venv below
  curl                     # fetching the CIFAR-10 archive (data/cifar10_fetch.cc; its tests use file:// URLs)
  dataset-fashion-mnist    # Fashion-MNIST's IDX files in /usr/share/datasets/fashion-mnist (tests/data)
  python3-pil              # converting the CIFAR-10 JPEG copy to the binary layout (datasets/cifar10/prepare.py)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "setup: all packages present"

# PyPI's `safetensors` (Debian has none) for tools/safetensors_roundtrip.py, in a venv that also sees
# Debian's torch; tools/test.sh hands it to the tests as NORMGRAD_PYTHON. Without PyPI the interchange test
# says it is skipped.
venv="${XDG_CACHE_HOME:-$HOME/.cache}/normgrad/venv"
if ! "$venv/bin/python3" -c "import torch, safetensors" 2>/dev/null; then
  if /usr/bin/python3 -m venv --system-site-packages "$venv" && "$venv/bin/pip" install -q safetensors; then
    echo "setup: safetensors installed in $venv"
  else
    echo "setup: could not install safetensors from PyPI; the safetensors interchange test will be skipped"
  fi
fi
