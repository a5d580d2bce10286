#!/usr/bin/env bash
# The delta export benchmark (a benchmark, not a test: a MISS never fails it).
#
#   scripts/bench/delta.sh [--students N] [--changes C] [--seed S] [--no-build]
#
# Generates a synthetic export of N students (default 1000000; gen_export.py, reused under
# scripts/bench/out/), a delta of C changed students (default 10000: 1% deleted, the rest moved;
# gen_delta.py) and the same export whole after the changes, then times with sisdrop-bench-phases
# --delta: the delta applied to a copy of the snapshot (as normalize does) against a full reload of
# the whole export. Target: the delta at least 10x faster. Builds release into .build-bench.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="$root/.build-bench"
phases="$scratch/release/sisdrop-bench-phases"
students=1000000 changes=10000 seed=20261120 build=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --students) students="$2"; shift 2 ;;
    --changes) changes="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "[delta-bench $(date +%H:%M:%S)] $*" >&2; }
if [[ $build -eq 1 ]]; then
  say "building release into $scratch"
  (cd "$root" && swift build -c release --scratch-path "$scratch" --product sisdrop-bench-phases) >&2
fi
out="$here/out/delta-$students-$seed"
export_dir="$here/out/export-$students-$seed"
if [[ ! -f "$export_dir/DONE" ]]; then
  say "generating $students students"
  python3 "$here/gen_export.py" --students "$students" --seed "$seed" --out "$export_dir" >&2
fi
if [[ ! -f "$out/after/students.csv" ]]; then
  say "generating a delta of $changes students"
  python3 "$here/gen_delta.py" --export "$export_dir/csv" --changes "$changes" --out "$out" >&2
fi
mkdir -p "$out/scratch"
say "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
result="$("$phases" --delta "$export_dir/csv" "$out/delta" "$out/after" "$out/scratch")"
echo "$result"
python3 - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
verdict = "PASS" if r["speedup"] >= 10 and r.get("same_students", True) else "MISS"
print(f"SUMMARY delta of {r['delta_rows']} rows: {r['delta_apply_s']:.2f} s (cpu {r['delta_apply_cpu']:.2f} s); "
      f"full reload of {r['full_reload_students']} students: {r['full_reload_s']:.2f} s (cpu {r['full_reload_cpu']:.2f} s); "
      f"{r['speedup']:.1f}x; same students: {r.get('same_students')}; {verdict} (target >= 10x)")
PY
