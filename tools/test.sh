#!/usr/bin/env bash
# Sets up the machine (tools/setup.sh) and runs every test: the optimized build, then the core and
# autograd tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bazel test //...
bazel test --config=asan //tests/core/... //tests/autograd/...
