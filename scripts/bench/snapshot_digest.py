#!/usr/bin/env python3
"""Content digest of a snapshot.sqlite: one SHA-256 per table over its rows in rowid order
(every column, NULL distinct from ''), plus row counts. Used to check that a change to the
snapshot load leaves the snapshot's content identical:

    python3 snapshot_digest.py WORKDIR_OR_SNAPSHOT [...]

A directory is searched for batches/*/20-normalize/snapshot.sqlite.
"""

import glob
import hashlib
import os
import sqlite3
import sys


def digest(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = {}
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    for table in tables:
        h = hashlib.sha256()
        n = 0
        for row in con.execute(f"SELECT * FROM {table} ORDER BY rowid"):
            h.update(repr(row).encode())
            h.update(b"\n")
            n += 1
        out[table] = (n, h.hexdigest()[:16])
    indexes = sorted(r[0] for r in con.execute("SELECT sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"))
    out["(indexes)"] = (len(indexes), hashlib.sha256("\n".join(indexes).encode()).hexdigest()[:16])
    con.close()
    return out


def main():
    for arg in sys.argv[1:]:
        paths = [arg] if os.path.isfile(arg) else sorted(glob.glob(os.path.join(arg, "batches/*/20-normalize/snapshot.sqlite")))
        for path in paths:
            print(path)
            for table, (n, h) in digest(path).items():
                print(f"  {table:20} {n:>9} {h}")


if __name__ == "__main__":
    main()
