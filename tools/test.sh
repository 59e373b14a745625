#!/usr/bin/env bash
# Sets up the machine (tools/setup.sh) and runs every test: the optimized build (whose tests/cuda run the
# CUDA kernels on the host emulator), the core, autograd and CUDA-parity tests again under AddressSanitizer
# + UndefinedBehaviorSanitizer (the kernel coverage check only repeats the parity tests), the CUDA build
# (nvcc for sm_80 and sm_90, train_cifar included; with no GPU here, of its tests only the one that checks
# the no-device error runs: the others would only report themselves skipped), and the workspace in
# tests/external_workspace that uses normgrad as another project would.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
# The Python with torch and safetensors that tools/setup.sh prepared (.bazelrc passes it to the tests).
venv_python="${XDG_CACHE_HOME:-$HOME/.cache}/normgrad/venv/bin/python3"
if [ -x "$venv_python" ]; then export NORMGRAD_PYTHON="$venv_python"; fi
bazel test //...
bazel test --config=asan //tests/core/... //tests/autograd/... //tests/cuda/... -- -//tests/cuda:kernel_coverage_test
bazel build --config=cuda //core //tests/cuda/... //bench:gpu_bench //examples/cifar10:train_cifar //tests/examples/cifar10:trainer_cuda_test
bazel test --config=cuda //tests/cuda:availability_test
(cd tests/external_workspace && bazel test //...)
