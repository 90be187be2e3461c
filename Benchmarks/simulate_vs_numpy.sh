#!/usr/bin/env bash
# Builds the release `river` binary and runs Benchmarks/simulate_vs_numpy.py (river simulate vs a plain
# numpy loop and a vectorised numpy implementation of the same SGD simulation).
# Usage: Benchmarks/simulate_vs_numpy.sh [--dim 10] [--seeds 256] [--steps 2000]   (SCRATCH=.build-x picks a build folder)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi
SCRATCH="${SCRATCH:-.build}"
swift build -c release --scratch-path "$SCRATCH" --product river >&2
export RIVER_BIN="${RIVER_BIN:-$SCRATCH/release/river}"
PY="${PYTHON:-.venv/bin/python}"
exec "$PY" Benchmarks/simulate_vs_numpy.py "$@"
