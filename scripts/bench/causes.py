#!/usr/bin/env python3
"""Why sisdrop's match stage missed or held what it did, by cause: reads a data set written by
febrl.py or `sisdrop-gen` (truth/students.csv) and a run of it (scripts/bench/out/run-*), and counts

  missed   returning children neither auto-matched to their SIS record nor in review with it among the
           candidates, by the outcome and the reason the decision gives (numbers and ids left out);
  review   children sent to a person, by the guard or reason that held them (the first of each);
  false    automatic matches to the wrong record (must be 0).

  scripts/bench/causes.py --data scripts/bench/out/febrl3-no-state-id --run scripts/bench/out/run-febrl3-no-state-id-fs [--examples N]
"""

import argparse
import csv
import glob
import json
import re
from collections import Counter, defaultdict
from pathlib import Path


def shape(reason):
    """A reason without its figures and ids: the rule that fired."""
    reason = re.sub(r"SIS (student )?\S+", "SIS X", reason)
    reason = re.sub(r"-?\d+(\.\d+)?", "N", reason)
    reason = re.sub(r"\(([^()]*)\)", lambda m: "(" + m.group(1) + ")", reason)
    return reason


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--examples", type=int, default=0, help="print up to N submission ids per cause")
    parser.add_argument("--width", type=int, default=220)
    args = parser.parse_args()
    truth = {}
    with open(Path(args.data) / "truth" / "students.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            truth[f"{row['Submission_ID']}/{row['Student_Seq']}"] = row["Truth"]
    path = sorted(glob.glob(str(Path(args.run) / "batches" / "*" / "30-match" / "decisions.jsonl")))[-1]
    missed, review, false = Counter(), Counter(), Counter()
    examples = defaultdict(list)
    total = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            submission = json.loads(line)
            for student in submission["students"]:
                ref = f"{submission['submissionID']}/{student['seq']}"
                expected = truth.get(ref)
                if expected is None:
                    continue
                total += 1
                d = student["decision"]
                ids = [c["sisID"] for c in d["candidates"]]
                if d["outcome"] == "matched" and expected != d["sisID"]:
                    cause = "false auto: " + shape(d["reasons"][0])
                    false[cause] += 1
                    examples[cause].append(ref)
                if d["outcome"] == "potential":
                    top = d["candidates"][0] if d["candidates"] else {}
                    first = (top.get("guards") or d["reasons"])[0]
                    if any("claimed by more than one" in r for r in d["reasons"]) and not top.get("guards"):
                        first = d["reasons"][-1]
                    cause = "review: " + shape(first)
                    review[cause] += 1
                    examples[cause].append(ref)
                if expected != "NEW" and not ((d["outcome"] == "matched" and d["sisID"] == expected)
                                              or (d["outcome"] == "potential" and expected in ids)):
                    cause = f"missed as {d['outcome']}: " + shape(d["reasons"][0])
                    missed[cause] += 1
                    examples[cause].append(ref)
    for title, counter in [("false automatic matches", false), ("missed returning children", missed), ("review", review)]:
        print(f"{title}: {sum(counter.values())} of {total} students")
        for cause, count in counter.most_common():
            print(f"  {count:6d} {count / max(total, 1) * 100:6.2f}%  {cause[:args.width]}")
            if args.examples:
                print("           e.g. " + " ".join(examples[cause][:args.examples]))


if __name__ == "__main__":
    main()
