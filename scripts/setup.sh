#!/usr/bin/env bash
# Idempotent set-up: Debian packages, the pinned Python venv, the text corpora, the release build.
# Safe to run any number of times; each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

step() { printf '\n== %s\n' "$*" >&2; }

# 1. Debian packages: LAPACKE + OpenBLAS (the BLAS/LAPACK underneath) + GSL; oneDNN (the trainer's bf16
#    GEMMs); the KJV Bible corpus.
packages=(libgsl-dev liblapacke-dev libopenblas-dev libdnnl-dev bible-kjv pkg-config)
python3 -c 'import venv, ensurepip' 2>/dev/null || packages+=(python3-venv)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. Python venv with pinned versions (matplotlib, Jupyter, numpy/scipy, PyTorch CPU for reference tests).
want=$(sha256sum python/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$want" ]; then
  step "python venv (.venv) from python/requirements.txt"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r python/requirements.txt
  echo "$want" > .venv/.requirements.sha256
fi

# 3. Corpora for the trainer (checksummed, into the ignored data/ folder).
if [ -x scripts/fetch_corpora.sh ]; then
  scripts/fetch_corpora.sh
fi

# 4. The release build (all products). -enable-testing lets `swift test -c release` reuse this very build
#    (tests use @testable for internals); one build instead of two.
step "swift build -c release"
quiet_build swift build -c release -Xswiftc -enable-testing >&2 || { echo "swift build failed" >&2; exit 1; }
test -x "$RIVER_BIN" || { echo "release build did not produce $RIVER_BIN" >&2; exit 1; }
