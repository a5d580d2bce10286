#!/usr/bin/env python3
"""Reference for the sisdrop benchmark: DuckDB loading an SIS export's CSV files into tables.

    .venv/bin/python duckdb_load.py DATABASE FILE.csv [FILE.csv ...]

Creates one table per file (named after the file) in a new DuckDB database file with
`read_csv(..., header=true, all_varchar=true)` so identifiers keep their leading zeros, checkpoints,
and prints one JSON line: {"seconds": ..., "cpu_seconds": ..., "rows": {...}, "threads": ...}. The time covers connect,
load and checkpoint (the data is on disk, as sisdrop's snapshot is); not the Python start-up.
"""

import json
import os
import sys
import time

import duckdb


def main():
    database, files = sys.argv[1], sys.argv[2:]
    if os.path.exists(database):
        os.remove(database)
    started = time.perf_counter()
    cpu = time.process_time()
    con = duckdb.connect(database)
    rows = {}
    for path in files:
        table = os.path.splitext(os.path.basename(path))[0]
        escaped = path.replace("'", "''")
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{escaped}', header=true, all_varchar=true)")
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu  # every thread of this process
    for path in files:
        table = os.path.splitext(os.path.basename(path))[0]
        rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    # leading zeros survive: a sanity check that the comparison is with a text load
    if "schools" in rows:
        first = con.execute("SELECT min(School_Number) FROM schools").fetchone()[0]
        assert first == "0101", first
    con.close()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "rows": rows, "threads": threads, "version": duckdb.__version__}))


if __name__ == "__main__":
    main()
