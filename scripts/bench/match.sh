#!/usr/bin/env bash
# The matching benchmark (a benchmark, not a test): sisdrop's match stage, the seed system's rule and
# Splink 5 + DuckDB, scored against the truth of `sisdrop-gen`.
#
#   scripts/bench/match.sh [--students N[,N...]] [--submissions M] [--seed S] [--no-build] [--no-splink] [--no-placeholder] [--cases]
#
# Defaults: --students 100000 --submissions 10000. For each size it generates a district under
# scripts/bench/out/ (reused for the same size and seed), runs sisdrop's stages with the fellegi-sunter
# matcher and with the placeholder, applies the seed rule, and runs Splink (installed from PyPI into
# scripts/bench/.venv-match). Prints one table per size and, last, one line per size:
#   students=N submissions=M | sisdrop P=.. R=.. F1=.. false_auto=.. review=..% s=.. | seed-rule ... | splink ...
#     | splink_s/sisdrop_s=..x ... | match_stage_peak_rss=..MB match_stage_cpu_s=.. load=..
#     | splink_cpu_s=.. splink_cpu/sisdrop_cpu=..x | splink_phases load=..s/cpu=..s train=.. predict=..
#   students=N submissions=M | sisdrop contacts: existing guardians .. created as new .. | new guardians .. created once ..
# See scripts/bench/match_bench.py for the definitions of P, R, F1, false_auto, review and s.
# Builds with `swift build -c release --scratch-path .build-bench` unless the binary is newer than Sources/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="$root/.build-bench"
binary="$scratch/release/sisdrop"
students="100000"
submissions=10000
seed=20261123
build=1
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --students) students="$2"; shift 2 ;;
    --submissions) submissions="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-splink) extra+=(--no-splink); shift ;;
    --no-placeholder) extra+=(--no-placeholder); shift ;;
    --cases) extra+=(--cases); shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "[match.sh $(date +%H:%M:%S)] $*" >&2; }

venv="$here/.venv-match"
if [[ ! -x "$venv/bin/python" ]]; then
  say "creating $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import splink, duckdb" 2>/dev/null; then
  say "pip install splink (5.x, with DuckDB) into $venv"
  "$venv/bin/pip" install -q 'splink>=5,<6'
fi

# sisdrop-gen (the generator, not shipped) is built beside sisdrop; match_bench.py runs it from there.
gen="$scratch/release/sisdrop-gen"
if [[ $build -eq 1 ]] && { [[ ! -x "$binary" ]] || [[ ! -x "$gen" ]] || [[ -n "$(find "$root/Sources" "$root/Package.swift" -newer "$binary" -print -quit)" ]]; }; then
  say "building sisdrop and sisdrop-gen (release, --scratch-path $scratch)"
  { (cd "$root" && swift build -c release --scratch-path "$scratch" --product sisdrop) &&
    (cd "$root" && swift build -c release --scratch-path "$scratch" --product sisdrop-gen); } >"$here/.match-build.log" 2>&1 \
    || { tail -40 "$here/.match-build.log" >&2; exit 1; }
fi
[[ -x "$binary" && -x "$gen" ]] || { echo "FAILED: no binary at $binary or $gen" >&2; exit 1; }
say "sisdrop at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) cores"
mkdir -p "$here/out"
exec "$venv/bin/python" "$here/match_bench.py" --students "$students" --submissions "$submissions" --seed "$seed" \
  --binary "$binary" --out "$here/out" "${extra[@]}"
