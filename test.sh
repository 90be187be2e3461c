#!/usr/bin/env bash
# The whole test suite: set up, then the Swift tests (release build), then the Python tests
# (PyTorch/numpy references, figure rendering, executed notebooks).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
source scripts/env.sh
status=0
echo "== swift test -c release" >&2
swift test -c release 2>&1 | grep --line-buffered -Ev '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Linking|Write|Building)' || status=1
echo "== pytest python/tests" >&2
.venv/bin/python -m pytest -q python/tests || status=1
exit $status
