#!/usr/bin/env bash
# The whole test suite: set up, then the Swift tests (release build), then the Python tests
# (PyTorch/numpy references, figure rendering, executed notebooks).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
source scripts/env.sh
status=0
echo "== swift test -c release -Xswiftc -enable-testing" >&2
# --no-parallel: the trainer tests check bit-exact resume, and OpenBLAS thread settings are process-global.
quiet_build swift test -c release -Xswiftc -enable-testing --no-parallel || status=1
echo "== pytest python/tests" >&2
.venv/bin/python -m pytest -q python/tests || status=1
exit $status
