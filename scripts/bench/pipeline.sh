#!/usr/bin/env bash
# The sisdrop pipeline benchmark (a benchmark, not a test: a MISS never fails it).
#
#   scripts/bench/pipeline.sh [--students N[,N...]] [--seed S] [--repeat R] [--no-build]
#
# For each size (default 100000,1000000): generates a synthetic PowerSchool export (CSV and the
# same records in XML, plus a few enrollment submissions) under scripts/bench/out/ (reused for the
# same size and seed). Times each phase with sisdrop-bench-phases (scripts/bench/phases/) against
# its reference measured on the same files in the same run: CSV parse + normalize (no SQLite) vs
# Python's csv module, XML parse vs `xmllint --stream`, the whole snapshot load vs DuckDB loading
# the CSVs. Then runs `sisdrop run` on each format under /usr/bin/time -v for wall time and peak RSS.
# Prints one table per size, the 1M/100k memory ratio, and a one-line SUMMARY last.
#
# Exits 1 only when something failed to run (build, generation, a sisdrop run, a reference).
# Installs what it needs: Debian's `time` and `libxml2-utils`, and DuckDB into scripts/bench/.venv.
# Builds with `swift build -c release --scratch-path .build-bench` (never the default .build),
# skipped when the binary is newer than Sources/ and Package.swift, or with --no-build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="$root/.build-bench"
binary="$scratch/release/sisdrop"
phases="$scratch/release/sisdrop-bench-phases"

students="100000,1000000"
seed=20261120
repeat=1
build=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --students) students="$2"; shift 2 ;;
    --students=*) students="${1#*=}"; shift ;;
    --seed) seed="$2"; shift 2 ;;
    --seed=*) seed="${1#*=}"; shift ;;
    --repeat) repeat="$2"; shift 2 ;;
    --repeat=*) repeat="${1#*=}"; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$students" =~ ^[0-9_]+(,[0-9_]+)*$ ]] || { echo "--students: expected N[,N...], got '$students'" >&2; exit 2; }

say() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# --- tools -------------------------------------------------------------------------------------
apt_install() {  # apt_install PACKAGE: install a Debian package, updating the lists once if needed
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  say "installing Debian package $1"
  if ! $sudo apt-get install -y -qq "$1" >/dev/null 2>&1; then
    $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq "$1" >/dev/null
  fi
}
[[ -x /usr/bin/time ]] || apt_install time
command -v xmllint >/dev/null || apt_install libxml2-utils

venv="$here/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
  say "creating $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import duckdb" 2>/dev/null; then
  say "pip install duckdb into $venv"
  "$venv/bin/pip" install -q duckdb
fi

# --- build -------------------------------------------------------------------------------------
needs_build() {
  [[ -x "$binary" && -x "$phases" ]] || return 0
  # Either binary older than a source: sisdrop alone is rebuilt by match.sh, which left the phases stale.
  [[ -n "$(find "$root/Sources" "$root/Package.swift" "$root/scripts/bench/phases" -newer "$binary" -print -quit)" ]] \
    || [[ -n "$(find "$root/Sources" "$root/Package.swift" "$root/scripts/bench/phases" -newer "$phases" -print -quit)" ]]
}
if [[ $build -eq 1 ]] && needs_build; then
  say "building sisdrop (release, --scratch-path $scratch)"
  built=0
  mkdir -p "$here/out"
  for attempt in 1 2 3; do
    # Sources may be edited while this builds: swiftpm then stops with "was modified during the build".
    if (cd "$root" && swift build -c release --scratch-path "$scratch" --product sisdrop \
          && swift build -c release --scratch-path "$scratch" --product sisdrop-bench-phases) >"$here/out/build.log" 2>&1; then
      built=1; break
    fi
    if grep -q "modified during the build" "$here/out/build.log"; then
      say "a source file changed during the build; retrying ($attempt/3)"; continue
    fi
    break
  done
  if [[ $built -ne 1 ]]; then
    echo "FAILED: swift build -c release --scratch-path $scratch --product sisdrop (and sisdrop-bench-phases)" >&2
    tail -40 "$here/out/build.log" >&2
    exit 1
  fi
  rm -f "$here/out/build.log"
fi
[[ -x "$binary" && -x "$phases" ]] || { echo "FAILED: no $binary or $phases (run without --no-build)" >&2; exit 1; }

dirty=""
git -C "$root" diff --quiet HEAD -- Sources Package.swift 2>/dev/null || dirty=" + uncommitted changes in Sources/"
say "sisdrop at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$dirty, binary built $(date -r "$binary" '+%Y-%m-%d %H:%M:%S')"
say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -r)"

exec "$venv/bin/python" "$here/bench.py" --students "$students" --seed "$seed" --repeat "$repeat" --binary "$binary" \
  --phases "$phases" --out "$here/out"
