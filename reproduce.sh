#!/usr/bin/env bash
# The main job: set up, compute every experiment's data, render every figure into Figures/.
#   ./reproduce.sh          quick setting (minutes on 2 cores)
#   ./reproduce.sh --full   the full setting (longer runs, more seeds)
# Resumable: finished experiments are skipped on a rerun (pass --force to recompute).
set -euo pipefail
cd "$(dirname "$0")"
mode=quick; extra=()
for a in "$@"; do
  case "$a" in
    --full) mode=full; extra+=(--full) ;;
    --force) extra+=(--force) ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "reproduce.sh: unknown argument '$a' (allowed: --full, --force)" >&2; exit 2 ;;
  esac
done
scripts/setup.sh
source scripts/env.sh
"$RIVER_BIN" experiment all --out "out/$mode" ${extra[@]+"${extra[@]}"}
.venv/bin/python python/figures.py --data "out/$mode" --figures Figures
echo "Figures written to Figures/ (data in out/$mode/)."
