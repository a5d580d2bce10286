#!/usr/bin/env python3
"""Compares two demo work directories (`sisdrop demo --workdir A`, then B with another build) file by
file: byte for byte, except what is clock-bound (timestamps, durations, process ids), which is masked
first. SQLite files are compared as their dumps. Used to show a refactor changed no output
(issue 15); exits 1 and lists the files that differ."""
import os, re, sqlite3, sys

MASKS = [
    (re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?"), b"<time>"),
    (re.compile(rb"\d{8}T\d{6}Z?"), b"<stamp>"),
    (re.compile(rb'("seconds"\s*:\s*)[0-9.e-]+'), rb"\1<s>"),
    (re.compile(rb"seconds[^\n\"]*"), b"seconds<...>"),
    (re.compile(rb"\b\d+(\.\d+)? ?(ms|s)\b"), b"<dur>"),
    (re.compile(rb"sisdrop\[\d+\]"), b"sisdrop[<pid>]"),
    (re.compile(rb'("pid"\s*:\s*)\d+'), rb"\1<pid>"),
    # The checkout the demo ran from (its pipeline file's path).
    (re.compile(rb"/[^'\"\s]*/pipelines/"), b"<checkout>/pipelines/"),
]

def mask(data, root=None):
    if root:
        data = data.replace(os.path.abspath(root).encode(), b"<workdir>")
    for pattern, replacement in MASKS:
        data = pattern.sub(replacement, data)
    return data

def dump(path, root):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    return mask("\n".join(db.iterdump()).encode(), root)

def files(root):
    for folder, _, names in os.walk(root):
        for name in names:
            # A database's -wal and -shm belong to its dump (SQLite reads them with it), and opening
            # a WAL database read-only creates them: compared as files, a second run would differ.
            if name.endswith(("-wal", "-shm")):
                continue
            yield os.path.relpath(os.path.join(folder, name), root)

def main(a, b):
    left, right = set(files(a)), set(files(b))
    differ = sorted(left ^ right)
    same = 0
    for rel in sorted(left & right):
        pa, pb = os.path.join(a, rel), os.path.join(b, rel)
        if rel.endswith((".sqlite", ".sqlite3", ".db")):
            equal = dump(pa, a) == dump(pb, b)
        else:
            with open(pa, "rb") as fa, open(pb, "rb") as fb:
                da, db_ = fa.read(), fb.read()
            equal = da == db_ or mask(da, a) == mask(db_, b)
        if equal:
            same += 1
        else:
            differ.append(rel)
    print(f"{same} files the same (clock-bound values masked), {len(differ)} differ")
    for rel in differ:
        print("  differs:", rel)
    return 1 if differ else 0

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: demo-diff.py WORKDIR_A WORKDIR_B")
    sys.exit(main(sys.argv[1], sys.argv[2]))
