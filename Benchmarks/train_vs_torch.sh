#!/usr/bin/env bash
# Builds the release `river` binary and runs Benchmarks/train_vs_torch.py (Swift transformer training
# steps vs PyTorch, 3.3M and 0.86M shapes). Usage: Benchmarks/train_vs_torch.sh [--steps 10] [--rounds 2]
# (SCRATCH=.build-x picks a build folder)
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
exec "$PY" Benchmarks/train_vs_torch.py "$@"
