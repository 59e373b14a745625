#!/usr/bin/env bash
# Sets up the machine (tools/setup.sh) and runs every test: the optimized build, the core and autograd
# tests again under AddressSanitizer + UndefinedBehaviorSanitizer, and the workspace in
# tests/external_workspace that uses normgrad as another project would (through @normgrad//:normgrad).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
# The Python with torch and safetensors that tools/setup.sh prepared (.bazelrc passes it to the tests).
venv_python="${XDG_CACHE_HOME:-$HOME/.cache}/normgrad/venv/bin/python3"
if [ -x "$venv_python" ]; then export NORMGRAD_PYTHON="$venv_python"; fi
bazel test //...
bazel test --config=asan //tests/core/... //tests/autograd/...
(cd tests/external_workspace && bazel test //...)
