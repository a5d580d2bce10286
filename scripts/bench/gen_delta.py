#!/usr/bin/env python3
"""A delta of an SIS export for the delta benchmark (scripts/bench/delta.sh).

    python3 scripts/bench/gen_delta.py --export DIR/csv --changes 10000 --out OUT

From the full export in DIR/csv, picks `changes` students evenly (every Nth row): 1% of them are
deleted, the rest move (a new Street). Writes OUT/delta/students_delta.csv and contacts_delta.csv
(changed rows whole, deleted ones as key + `Deleted` = Y; a deleted student's contact links are
deleted too), and OUT/after/ (the same export whole after the changes: what a full night would
bring). Deterministic. Benchmark data, nothing asserted.
"""

import argparse
import csv
import shutil
from pathlib import Path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--export", required=True)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    export, out = Path(args.export), Path(args.out)
    (out / "delta").mkdir(parents=True, exist_ok=True)
    (out / "after").mkdir(parents=True, exist_ok=True)

    with open(export / "students.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    step = max(1, len(body) // args.changes)
    picked = list(range(0, len(body), step))[: args.changes]
    deleted = set(picked[:: 100])
    street = header.index("Street")
    gone = set()
    with open(out / "delta" / "students_delta.csv", "w", newline="", encoding="utf-8") as d:
        writer = csv.writer(d, lineterminator="\n")
        writer.writerow(header + ["Deleted"])
        for i in picked:
            if i in deleted:
                gone.add(body[i][0])
                writer.writerow([body[i][0]] + [""] * (len(header) - 1) + ["Y"])
            else:
                body[i][street] = f"{i % 9000 + 100} Delta Way"
                writer.writerow(body[i] + [""])
    with open(out / "after" / "students.csv", "w", newline="", encoding="utf-8") as a:
        writer = csv.writer(a, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(r for r in body if r[0] not in gone)

    with open(export / "contacts.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        cheader = next(reader)
        sn = cheader.index("Student_Number")
        with open(out / "delta" / "contacts_delta.csv", "w", newline="", encoding="utf-8") as d, \
             open(out / "after" / "contacts.csv", "w", newline="", encoding="utf-8") as a:
            dw, aw = csv.writer(d, lineterminator="\n"), csv.writer(a, lineterminator="\n")
            dw.writerow(cheader + ["Deleted"])
            aw.writerow(cheader)
            for row in reader:
                if row[sn] in gone:
                    dw.writerow([row[0], row[sn]] + [""] * (len(cheader) - 2) + ["Y"])
                else:
                    aw.writerow(row)
    for name in ("schools.csv", "attendance_codes.csv"):
        shutil.copy(export / name, out / "after" / name)
    print(f"{len(picked)} students changed ({len(deleted)} deleted) of {len(body)}")


if __name__ == "__main__":
    main()
