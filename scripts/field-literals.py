#!/usr/bin/env python3
"""Lists the field names of the layouts still written as string literals outside the layouts' table
(issue 15: "field names come from one table of the layouts"), by file, so that the next engineer can
see what is left and check a change.

    scripts/field-literals.py [--summary] [--names] [PATH ...]      (default PATH: Sources)

A field name is a value of the `FieldName` table or a field of a layout in
`Sources/SISDropCore/Records/Layouts.swift` (read from that file each run: a name added to the
table is counted from then on). A literal counts when the whole string is such a name (`"DOB"`,
not `"DOB is missing"`); comments and the table's own file are skipped. Some literals stay on
purpose (a word that is a field name in one file and an element or a value in another, a user-facing
text): read the list, do not chase zero. Tests are not searched by default (a test's expected header
is written out on purpose). Exits 0 always: a report."""
import argparse, collections, os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join("Sources", "SISDropCore", "Records", "Layouts.swift")
LITERAL = re.compile(r'(?<![\\#])"((?:[^"\\]|\\.)*)"')


def field_names(root):
    """The table's values and every field of a layout in the table's file."""
    with open(os.path.join(root, TABLE), encoding="utf-8") as f:
        text = f.read()
    names = set(re.findall(r'static (?:var|let) \w+: String(?: \{|=) *"([^"]+)"', text))
    for block in re.finditer(r"\b(?:fields|required|optional): *\[([^\]]*)\]", text, re.S):
        names |= set(re.findall(r'"([^"]+)"', block.group(1)))
    return names


def code_part(line, state):
    """The line without its comment; `state` carries a block comment across lines."""
    out, i, in_string = [], 0, False
    while i < len(line):
        if state["block"]:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out)
            state["block"], i = False, end + 2
        elif not in_string and line.startswith("//", i):
            break
        elif not in_string and line.startswith("/*", i):
            state["block"], i = True, i + 2
        else:
            if line[i] == '"' and (i == 0 or line[i - 1] != "\\"):
                in_string = not in_string
            out.append(line[i])
            i += 1
    return "".join(out)


def literals(path, names):
    state = {"block": False}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            code = code_part(line.rstrip("\n"), state)
            found = [m.group(1) for m in LITERAL.finditer(code) if m.group(1) in names]
            if found:
                yield number, found, line.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=["Sources"])
    parser.add_argument("--summary", action="store_true", help="counts per file only")
    parser.add_argument("--names", action="store_true", help="print the field names and stop")
    args = parser.parse_args()
    os.chdir(ROOT)
    names = field_names(ROOT)
    if args.names:
        print("\n".join(sorted(names)))
        return 0
    per_file = collections.Counter()
    for top in args.paths:
        walk = [(top, [], [""])] if os.path.isfile(top) else os.walk(top)
        for folder, _, files in sorted(walk):
            for name in sorted(files):
                path = os.path.join(folder, name)
                if not path.endswith(".swift") or os.path.normpath(path) == TABLE:
                    continue
                for number, found, text in literals(path, names):
                    per_file[path] += len(found)
                    if not args.summary:
                        print(f"{path}:{number}: {text}")
    if args.summary:
        for path, count in per_file.most_common():
            print(f"{count:5} {path}")
    print(f"{sum(per_file.values())} field-name literals in {len(per_file)} files "
          f"({len(names)} field names in {TABLE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
