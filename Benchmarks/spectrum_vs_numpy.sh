#!/usr/bin/env bash
# Builds the release `river` binary and runs Benchmarks/spectrum_vs_numpy.py (river dsyevd vs numpy eigh).
# Usage: Benchmarks/spectrum_vs_numpy.sh [--n 2000] [--repeats 5]   (SCRATCH=.build-x to pick a build folder)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then   # same kernels for both sides (platform.md)
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi
SCRATCH="${SCRATCH:-.build}"
swift build -c release --scratch-path "$SCRATCH" --product river >&2
export RIVER_BIN="${RIVER_BIN:-$SCRATCH/release/river}"
PY="${PYTHON:-.venv/bin/python}"
exec "$PY" Benchmarks/spectrum_vs_numpy.py "$@"
