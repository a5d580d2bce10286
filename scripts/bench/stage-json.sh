#!/usr/bin/env bash
# The stage-record JSON benchmark (a benchmark, not a test): the match stage's input
# (20-normalize/submissions.jsonl) and output (30-match/decisions.jsonl) through Foundation's
# JSONDecoder/JSONEncoder and through the hand codec (Sources/SISDropCore/Records/StageJSON.swift),
# one thread each, in the same run; MB/s and the ratio both ways, and whether both coders read the
# same values and wrote the same bytes; and the SHA-256 of each file as stage.json records it, beside
# the time to read the file.
#
#   scripts/bench/stage-json.sh [BATCH_FOLDER] [--no-build]
#
# BATCH_FOLDER: a batch of a benchmark run, by default the 100k-student fellegi-sunter run of
# scripts/bench/match.sh (scripts/bench/out/run-100000-fs/batches/*). REPEAT=N (environment): best of N.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="$root/.build-bench"
batch=""
build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) batch="$arg" ;;
  esac
done
if [[ -z "$batch" ]]; then
  batch="$(ls -d "$here"/out/run-100000-fs/batches/*/ 2>/dev/null | head -1 || true)"
fi
[[ -n "$batch" && -f "$batch/20-normalize/submissions.jsonl" && -f "$batch/30-match/decisions.jsonl" ]] ||
  { echo "FAILED: no batch folder with 20-normalize/submissions.jsonl and 30-match/decisions.jsonl (run scripts/bench/match.sh, or name one)" >&2; exit 1; }
if [[ $build == 1 ]]; then
  (cd "$root" && swift build -c release --scratch-path "$scratch" --product sisdrop-bench-phases) >/dev/null ||
    { echo "FAILED: swift build -c release --scratch-path $scratch --product sisdrop-bench-phases" >&2; exit 1; }
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$scratch/release/sisdrop-bench-phases" --stage-json "$batch/20-normalize/submissions.jsonl" "$batch/30-match/decisions.jsonl" "$out"
