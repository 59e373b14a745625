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
