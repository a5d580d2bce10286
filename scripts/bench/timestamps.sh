#!/usr/bin/env bash
# The approval-time benchmark (a benchmark, not a test): the Approved_At values of a submissions
# file through the normalize stage's reader (TimestampReader in
# Sources/SISDropFormats/Normalize/FieldRules.swift: Date.ISO8601FormatStyle and the Gregorian
# calendar) and through the hand-written reader it replaced (kept in
# scripts/bench/phases/TimestampBench.swift as the reference), one thread each, in the same run:
# thread CPU time per value, the hand-written reader's speed-up (a hand-written reader would have
# to show 2x or more to come back, issue 15), and whether both wrote the same text for every value.
#
#   scripts/bench/timestamps.sh [SUBMISSIONS.csv [ZONE]] [--no-build]
#
# By default the demo district's submissions (Fixtures/demo-district/enrollment-csv/submissions.csv)
# in America/Chicago, read over and over to 50,000 values. REPEAT=N (environment): best of N.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="$root/.build-bench"
submissions="$root/Fixtures/demo-district/enrollment-csv/submissions.csv"
zone="America/Chicago"
build=1
positional=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *)
      if [[ $positional == 0 ]]; then submissions="$arg"; else zone="$arg"; fi
      positional=$((positional + 1))
      ;;
  esac
done
[[ -f "$submissions" ]] || { echo "FAILED: no submissions file at $submissions" >&2; exit 1; }
if [[ $build == 1 ]]; then
  (cd "$root" && swift build -c release --scratch-path "$scratch" --product sisdrop-bench-phases) >/dev/null ||
    { echo "FAILED: swift build -c release --scratch-path $scratch --product sisdrop-bench-phases" >&2; exit 1; }
fi
"$scratch/release/sisdrop-bench-phases" --timestamps "$submissions" "$zone"
