#!/usr/bin/env bash
# Kept for old instructions: see Benchmarks/run.sh.
exec "$(dirname "$0")/run.sh" simulate_vs_numpy "$@"
