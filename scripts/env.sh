# Sourced by the set-up, main-job and test scripts: the environment every run needs.
# OpenBLAS 0.3.21 does not know this CPU and falls back to slow Prescott kernels unless told the core
# type (docs/machine-facts.md); guarded so a CPU without AVX-512/AVX2 is not forced onto kernels it cannot run.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE=Haswell; fi
fi
# OpenBLAS workers spin ~0.1 s after each call by default, taking the core the trainer's own kernels need;
# 2^4 cycles makes them sleep at once (docs/machine-facts.md; `river` sets it itself when unset).
export OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-4}"
export RIVER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export RIVER_BIN="${RIVER_BIN:-$RIVER_ROOT/.build/release/river}"
export MPLBACKEND=Agg
export PYTHONDONTWRITEBYTECODE=1

# Runs a command with SwiftPM's per-file progress lines filtered out; returns the command's status.
quiet_build() {
  "$@" 2>&1 | { grep --line-buffered -Ev '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Linking|Write|Building|Planning)' || true; }
  return "${PIPESTATUS[0]}"
}
