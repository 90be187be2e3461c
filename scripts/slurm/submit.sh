#!/usr/bin/env bash
# Submits a `river sweep` plan to Slurm: one array task per job (scripts/slurm/sweep.sbatch) and a collect
# job that builds the tables once every task has succeeded.
#   scripts/slurm/submit.sh PLAN.jsonl [extra sbatch options, e.g. --partition=cpu]
# Tasks run at most $RIVER_SWEEP_PARALLEL at a time (default 64). Prints the two job ids.
# The release build targets the CPU it is built on (AVX-512 where the machine has it): for nodes older than
# the machine that built river, build with `RIVER_TARGET_CPU=haswell swift build -c release`; a binary on a
# node without its instructions stops at once, naming what is missing.
set -euo pipefail
plan="${1:?usage: scripts/slurm/submit.sh PLAN.jsonl [sbatch options]}"; shift
[ -s "$plan" ] || { echo "submit.sh: plan file '$plan' is missing or empty (write it with river sweep --out DIR ... --plan $plan)" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export RIVER_ROOT="${RIVER_ROOT:-$(cd "$here/../.." && pwd)}"
# The binary every task runs: $RIVER_BIN, else this checkout's release build, else `river` on PATH.
if [ -z "${RIVER_BIN:-}" ]; then
  if [ -x "$RIVER_ROOT/.build/release/river" ]; then RIVER_BIN="$RIVER_ROOT/.build/release/river"; else RIVER_BIN=river; fi
fi
export RIVER_BIN
n=$(grep -c . "$plan")
array=$(sbatch --parsable --export=ALL --array="0-$((n - 1))%${RIVER_SWEEP_PARALLEL:-64}" "$@" "$here/sweep.sbatch" "$plan")
collect=$(sbatch --parsable --export=ALL --dependency="afterok:${array%%;*}" --job-name=river-sweep-collect \
  --output=river-sweep-collect-%j.log "$@" --wrap "source \"$RIVER_ROOT/scripts/env.sh\"; \"$RIVER_BIN\" sweep --plan \"$plan\" --collect")
echo "array job $array ($n tasks), collect job $collect"
