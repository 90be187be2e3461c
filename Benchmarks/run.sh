#!/usr/bin/env bash
# Runs one benchmark against its peer in the same run and prints the ratio:
#   Benchmarks/run.sh spectrum_vs_numpy [--n 2000 --repeats 7]
#   Benchmarks/run.sh simulate_vs_numpy [--seed-count 256 --steps 2000]
#   Benchmarks/run.sh train_vs_torch    [--steps 8 --rounds 3] [--precision bf16]
#   Benchmarks/run.sh bf16_vs_fp32      [--steps 1000]                           (bf16 vs fp32 loss curves)
#   Benchmarks/run.sh bigram_hessian_vs_torch
#   Benchmarks/run.sh hvp_vs_torch      [--model default --repeats 3]
#   Benchmarks/run.sh curve_fit_vs_torch --peer DIR [--size 400 --rounds 3]   (DIR: a MultiPowerLaw checkout)
#   Benchmarks/run.sh nanogpt_vs_river  --peer DIR [--target 1.87]             (DIR: a nanoGPT checkout)
#   Benchmarks/run.sh all [--nanogpt DIR --multipowerlaw DIR]  every benchmark + machine facts (README table)
# Builds the release `river` (the same build as the set-up script; SCRATCH=.build-x picks another
# folder), sets the OpenBLAS core type for both sides (docs/machine-facts.md), then runs Benchmarks/NAME.py.
# Run on an idle machine: both sides use 2 threads and timings under load mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: Benchmarks/run.sh NAME [args] (NAME: $(cd Benchmarks && ls [!_]*.py | sed 's/\.py$//' | tr '\n' ' '))}"
shift
[ -f "Benchmarks/$name.py" ] && [ "${name#_}" = "$name" ] || { echo "no benchmark Benchmarks/$name.py" >&2; exit 2; }
source scripts/env.sh
SCRATCH="${SCRATCH:-.build}"
quiet_build swift build -c release -Xswiftc -enable-testing --scratch-path "$SCRATCH" --product river >&2
export RIVER_BIN="$SCRATCH/release/river"
exec "${PYTHON:-.venv/bin/python}" "Benchmarks/$name.py" "$@"
