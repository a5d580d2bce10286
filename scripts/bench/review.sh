#!/usr/bin/env bash
# The review loop at scale (a benchmark, not a test): one `sisdrop run` of the shipped nightly shape
# (`batch.auto_close: true`) per size, against one generated SIS, printing what the people side
# costs: report.html's size, the run's peak memory (RSS), and the review queue's size.
#
#   scripts/bench/review.sh [--students N] [--submissions M[,M...]] [--seed S] [--nights 1|2] [--binary FILE] [--no-build]
#
# Defaults: --students 100000 --submissions 2000,20000. Targets (issue 11): the largest size's peak
# RSS within 1.5x the smallest's (memory grows with the SIS, not with the batch), and report.html
# within 3 MB at 500 review items (the page grows with the queue, not with the batch). The last line:
#   SUMMARY rss M2/M1=..x (target <= 1.5x) | report at M: .. MB for .. review items (.. KB per item)
# Each night also prints its CPU seconds (user + sys) and each stage's seconds (stage.json; the
# match stage's phases). --nights 2 then runs the next night on the same working directory:
# scripts/bench/night2.py writes the inbox (the SIS's full export after importing night 1's
# delivery, every fourth new student not yet; night 1's undelivered submissions again and a second
# form of every fifth delivered one, half approved before it; night 1's queue answered for two
# submissions in three) and `sisdrop run` runs again; night 2's figures print beside night 1's.
# --binary FILE runs that sisdrop instead of the one built (a before/after comparison), its working
# directories under scripts/bench/out/review-work-M-<binary's folder name>.
# Builds with `swift build -c release --scratch-path .build-bench` unless the binary is newer than Sources/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="$root/.build-bench"
binary="$scratch/release/sisdrop"
students=100000
sizes="2000,20000"
seed=20261201
build=1
nights=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --students) students="$2"; shift 2 ;;
    --submissions) sizes="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --nights) nights="$2"; shift 2 ;;
    --binary) binary="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; build=0; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "[review.sh $(date +%H:%M:%S)] $*" >&2; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
[[ "$nights" == 1 || "$nights" == 2 ]] || { echo "--nights is 1 or 2" >&2; exit 2; }

# One night's figures: `night M N WORK TIME LOG`: peak RSS, CPU seconds, wall, the newest batch's
# stage seconds, the match stage's phases, and the seconds from deliver's log line to close's (the
# confirmation check, the report; the log's clock is in whole seconds).
night() {
  local m=$1 n=$2 work=$3 time=$4 log=$5
  python3 - "$m" "$n" "$work" "$time" "$log" <<'PY'
import datetime, json, re, sys
from pathlib import Path
m, n, work, time = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]).read_text()
log = Path(sys.argv[5]).read_text().splitlines()
field = lambda name: re.search(re.escape(name) + r": (.*)", time).group(1).strip()
cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
rss = int(field("Maximum resident set size (kbytes)")) / 1024
batch = sorted(p for p in (work / "batches").iterdir() if p.is_dir())[-1]
stages = []
for folder in ["10-parse", "20-normalize", "30-match", "40-deliver"]:
    path = batch / folder / "stage.json"
    if not path.exists():
        continue
    record = json.loads(path.read_text())
    phases = ""
    for note in record["notes"]:
        if note.startswith("seconds by phase: "):
            phases = " (" + ", ".join(
                "%s %.1f" % (k, float(v)) for k, v in
                (p.rsplit(" ", 1) for p in note[len("seconds by phase: "):].split(", "))) + ")"
    stages.append("%s %.1f%s" % (record["stage"], record["seconds"], phases))
def logged(word):
    for line in log:
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[3].startswith(word):
            return datetime.datetime.strptime(parts[0], "%Y-%m-%dT%H:%M:%SZ")
delivered, closed = logged("deliver:"), logged("closed batch")
if delivered and closed:
    stages.append("deliver to close %d" % (closed - delivered).total_seconds())
print("%8s submissions, night %s: peak RSS %7.1f MB, CPU %6.1f s, wall %s | stages (s): %s"
      % (m, n, rss, cpu, field("Elapsed (wall clock) time (h:mm:ss or m:ss)"), ", ".join(stages)))
PY
}

# sisdrop-gen (the generator, not shipped) is built beside sisdrop.
gen="$scratch/release/sisdrop-gen"
if [[ $build -eq 1 ]] && { [[ ! -x "$binary" ]] || [[ ! -x "$gen" ]] || [[ -n "$(find "$root/Sources" "$root/Package.swift" -newer "$binary" -print -quit)" ]]; }; then
  say "building sisdrop and sisdrop-gen (release, --scratch-path $scratch)"
  { (cd "$root" && swift build -c release --scratch-path "$scratch" --product sisdrop) &&
    (cd "$root" && swift build -c release --scratch-path "$scratch" --product sisdrop-gen); } >"$here/.review-build.log" 2>&1 \
    || { tail -40 "$here/.review-build.log" >&2; exit 1; }
fi
out="$here/out"
mkdir -p "$out"
summary=()
first_rss=""
first_m=""
IFS=',' read -ra list <<<"$sizes"
for m in "${list[@]}"; do
  data="$out/review-$students-$m-$seed"
  if [[ ! -d "$data/sis" ]]; then
    say "generating $students students, $m submissions (seed $seed)"
    "$gen" --students "$students" --submissions "$m" --seed "$seed" --out "$data" >/dev/null
  fi
  work="$out/review-work-$m"
  [[ "$binary" == "$scratch/release/sisdrop" ]] || work="$work-$(basename "$(dirname "$binary")")"
  rm -rf "$work"; mkdir -p "$work/inbox" "$work/outbox"
  cp "$data"/sis/{students,contacts,schools,attendance_codes}.csv "$work/inbox/"
  cp "$data"/enrollment/{submissions,submission_contacts}.csv "$work/inbox/"
  # The generator lists documents but writes no uploaded files: parse would reject every submission
  # naming one (half the batch), so the feed's documents file comes with its header only.
  head -1 "$data"/enrollment/submission_documents.csv >"$work/inbox/submission_documents.csv"
  cat >"$work/pipeline.yaml" <<YAML
version: 1
district: {name: Bench District, time_zone: America/Chicago}
plugin: $root/Fixtures/demo-district/config/Plugin.xml
pickup: {quiet_seconds: 0}
paths: {inbox: inbox, outbox: outbox, archive: archive}
sis_export: {format: csv, date_formats: [MM/DD/YYYY, YYYY-MM-DD]}
submissions: {format: csv, date_formats: [MM/DD/YYYY, YYYY-MM-DD]}
delivery: {profile: csv}
batch: {auto_close: true}
YAML
  say "sisdrop run: $m submissions against $students students"
  /usr/bin/time -v -o "$work/time.txt" "$binary" run --pipeline "$work/pipeline.yaml" --workdir "$work" >"$work/run.out" 2>&1 \
    || { tail -20 "$work/run.out" >&2; exit 1; }
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
  report=$(ls "$work"/batches/*/report.html)
  bytes=$(stat -c %s "$report")
  items=$("$binary" review --json --workdir "$work" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
  printf '%8d submissions: peak RSS %7.1f MB, wall %s, report.html %7.2f MB, review items %d\n' \
    "$m" "$(echo "$rss_kb/1024" | bc -l)" "$wall" "$(echo "$bytes/1048576" | bc -l)" "$items"
  night "$m" 1 "$work" "$work/time.txt" "$work/run.out"
  if [[ $nights -eq 2 ]]; then
    "$binary" review --csv "$work/night1-answers.csv" --workdir "$work" >/dev/null
    python3 "$here/night2.py" --data "$data" --work "$work" --answers "$work/night1-answers.csv" \
      --out "$work/inbox" >&2
    say "sisdrop run, night 2: $m submissions' next night"
    /usr/bin/time -v -o "$work/time-2.txt" "$binary" run --pipeline "$work/pipeline.yaml" --workdir "$work" >"$work/run-2.out" 2>&1 \
      || { tail -20 "$work/run-2.out" >&2; exit 1; }
    night "$m" 2 "$work" "$work/time-2.txt" "$work/run-2.out"
  fi
  if [[ -z "$first_rss" ]]; then first_rss=$rss_kb; first_m=$m; fi
  last_rss=$rss_kb; last_m=$m; last_bytes=$bytes; last_items=$items
done
ratio=$(echo "$last_rss/$first_rss" | bc -l)
per_item=$(echo "$last_bytes/1024/($last_items+1)" | bc -l)
printf 'SUMMARY rss %s/%s=%.2fx (target <= 1.5x) | report at %s: %.2f MB for %d review items (%.1f KB per item; target <= 3 MB at 500)\n' \
  "$last_m" "$first_m" "$ratio" "$last_m" "$(echo "$last_bytes/1048576" | bc -l)" "$last_items" "$per_item"
