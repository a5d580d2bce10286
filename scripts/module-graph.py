#!/usr/bin/env python3
"""The dependency graph between the folders (or targets) of sisdrop's Swift sources.

Maps every top-level declaration (type, function, constant) and every member declared in an
extension of another folder's type to the folder that declares it, then finds which folders
name it. Prints the edges with the names behind them and the strongly connected components
(a component of more than one folder is a cycle the module split must break).

    scripts/module-graph.py [ROOT] [--targets] [--edges] [--why A B] [--skip UNIT]

ROOT defaults to Sources, one unit per target (`--targets` implied); `scripts/module-graph.py
Sources/SISDrop` shows the folders inside one target. Text-based, not a compiler: comments and string
literals are stripped, and names are matched as whole identifiers, so a member name shared by
two folders can show a false edge (`--why A B` lists the names to check by hand).
"""
import argparse
import collections
import os
import re
import sys

DECL = re.compile(
    r"^(?:(?:public|package|internal|private|fileprivate|final|nonisolated|indirect|@\w+(?:\([^)]*\))?)\s+)*"
    r"(struct|class|enum|protocol|actor|typealias|func|let|var)\s+([A-Za-z_][A-Za-z0-9_]*)"
)
EXT = re.compile(
    r"^(?:(?:public|package|internal|private|fileprivate)\s+)*extension\s+([A-Za-z_][A-Za-z0-9_.]*)"
)
MEMBER = re.compile(
    r"^\s{2,4}(?:(?:public|package|internal|private|fileprivate|static|final|mutating|nonisolated|@\w+(?:\([^)]*\))?)\s+)*"
    r"(func|var|let|init|struct|class|enum|typealias)\b\s*([A-Za-z_][A-Za-z0-9_]*)?"
)
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def strip(text):
    """Source without comments and string literals (keeps line structure)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith('"""', i):
            j = text.find('"""', i + 3)
            j = n if j < 0 else j + 3
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            depth = 0
            while j < n:
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "(":
                    # interpolation: keep its code
                    k, d = j + 2, 1
                    while k < n and d:
                        d += {"(": 1, ")": -1}.get(text[k], 0)
                        k += 1
                    out.append(" " + text[j + 2 : k - 1] + " ")
                    j = k
                    continue
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == '"' or text[j] == "\n":
                    break
                j += 1
            out.append('""')
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def unit_of(path, root, depth, targets):
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    if targets:
        return parts[0]
    return os.sep.join(parts[: min(depth, len(parts) - 1)]) or "."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root", nargs="?", default="Sources")
    ap.add_argument("--targets", action="store_true", help="units are the root's subfolders (targets)")
    ap.add_argument("--unit-depth", type=int, default=1)
    ap.add_argument("--edges", action="store_true", help="list every edge with its names")
    ap.add_argument("--why", nargs=2, metavar=("FROM", "TO"))
    ap.add_argument("--skip", action="append", default=[], help="units to leave out (C targets, executables)")
    args = ap.parse_args()
    if os.path.normpath(args.root) == "Sources":
        args.targets = True
        # the executables are entry points, the C targets have no Swift
        args.skip += [n for n in os.listdir(args.root) if n.startswith("sisdrop") or n.startswith("C")]

    files = {}
    for dirpath, _, names in os.walk(args.root):
        for name in names:
            if name.endswith(".swift"):
                p = os.path.join(dirpath, name)
                u = unit_of(p, args.root, args.unit_depth, args.targets)
                if u in args.skip:
                    continue
                with open(p, encoding="utf-8") as f:
                    files[p] = (u, strip(f.read()))

    # 1. Top-level declarations, and the types each unit declares.
    owner = collections.defaultdict(set)  # name -> units declaring it at top level
    values = set()  # top-level functions and constants: their names are also common local names
    for p, (u, text) in files.items():
        for line in text.split("\n"):
            m = DECL.match(line)
            if m:
                owner[m.group(2)].add(u)
                if m.group(1) in ("func", "let", "var"):
                    values.add(m.group(2))
    # 2. Members added by an extension of a type declared in another unit belong to the extending unit.
    ext_member = collections.defaultdict(set)
    for p, (u, text) in files.items():
        lines = text.split("\n")
        i = 0
        while i < len(lines):
            m = EXT.match(lines[i])
            if m and u not in owner.get(m.group(1).split(".")[0], {u}):
                depth = lines[i].count("{") - lines[i].count("}")
                i += 1
                while i < len(lines) and depth > 0:
                    line = lines[i]
                    if depth == 1:
                        mm = MEMBER.match(line)
                        if mm and mm.group(2) and mm.group(1) != "init":
                            ext_member[mm.group(2)].add(u)
                    depth += line.count("{") - line.count("}")
                    i += 1
                continue
            i += 1
    # A member name also declared as a member elsewhere is ambiguous: only count `.name` uses
    # when no other unit declares a member of that name.
    member_decls = collections.Counter()
    for p, (u, text) in files.items():
        for line in text.split("\n"):
            mm = MEMBER.match(line)
            if mm and mm.group(2):
                member_decls[mm.group(2)] += 1

    # A unit that declares a nested type of the same name (PersonRecord.Guardian) means its own.
    nested = collections.defaultdict(set)
    for p, (u, text) in files.items():
        for line in text.split("\n"):
            mm = MEMBER.match(line)
            if mm and mm.group(1) in ("struct", "class", "enum", "typealias") and mm.group(2):
                nested[u].add(mm.group(2))

    edges = collections.defaultdict(lambda: collections.defaultdict(set))
    for p, (u, text) in files.items():
        # a name after a dot is a member (`PersonRecord.Guardian`, `.exitCode`), not a top-level one
        idents = set(re.findall(r"(?<![.\w])([A-Za-z_][A-Za-z0-9_]*)", text))
        for name in idents:
            if name in values and re.search(r"\b(?:let|var|func|case)\s+" + name + r"\b|\b" + name + r"\s*:", text):
                continue  # a local value or parameter of the same name
            for v in owner.get(name, ()):
                if v != u and u not in owner[name] and name not in nested[u]:
                    edges[u][v].add(name)
        for name in set(re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)", text)):
            units = ext_member.get(name)
            if units and member_decls[name] == 1:
                for v in units:
                    if v != u:
                        edges[u][v].add("." + name)

    units = sorted({u for u, _ in files.values()})
    if args.why:
        a, b = args.why
        print(f"{a} -> {b}:", ", ".join(sorted(edges[a][b])) or "(none)")
        for p, (u, text) in sorted(files.items()):
            if u != a:
                continue
            hits = sorted(n for n in edges[a][b] if re.search(r"(?<![A-Za-z0-9_])" + re.escape(n.lstrip(".")) + r"(?![A-Za-z0-9_])", text))
            if hits:
                print(f"  {os.path.relpath(p, args.root)}: {', '.join(hits)}")
        return

    print("units:", " ".join(units))
    for u in units:
        deps = sorted(edges[u])
        print(f"{u} -> {', '.join(f'{v}({len(edges[u][v])})' for v in deps) or '-'}")
        if args.edges:
            for v in deps:
                print(f"    {v}: {', '.join(sorted(edges[u][v]))}")

    # Tarjan's strongly connected components.
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for u in units:
        if u not in index:
            visit(u)
    cycles = [c for c in comps if len(c) > 1]
    print("cycles:", "; ".join(" ".join(c) for c in cycles) if cycles else "none")
    # comps come out in reverse topological order: dependencies first.
    print("order (dependencies first):", " | ".join(" ".join(c) for c in comps))
    sys.exit(1 if cycles else 0)


if __name__ == "__main__":
    main()
