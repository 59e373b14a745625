#!/usr/bin/env bash
# Sets up the machine (tools/setup.sh) and runs every test: the optimized build, the core and autograd
# tests again under AddressSanitizer + UndefinedBehaviorSanitizer, and the workspace in
# tests/external_workspace that uses normgrad as another project would (through @normgrad//:normgrad).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bazel test //...
bazel test --config=asan //tests/core/... //tests/autograd/...
(cd tests/external_workspace && bazel test //...)
