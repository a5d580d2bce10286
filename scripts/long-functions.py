#!/usr/bin/env python3
"""Lists the functions (and initializers) longer than a limit, longest first: where a reader cannot
hold a function at once (issue 15). A function over the limit either is split into named steps or
says why it is kept whole in a comment just above it that starts with `Kept whole:`; the script
shows which.

    scripts/long-functions.py [--limit 80] [PATH ...]      (default PATH: Sources)

Counts lines from the declaration to its closing brace; braces in strings and comments are
skipped (a rough Swift lexer: enough for this tree, not a parser). Exits 0 always: a report."""
import argparse, os, re, sys

DECL = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|private|fileprivate|internal|"
                  r"static|class|final|override|mutating|nonmutating|@inline\(__always\)|"
                  r"@discardableResult)\s+)*(func\s+([^\s(<]+)|init[?!]?\s*[(<]|subscript\s*[(<])")

def strip(line, state):
    """The line without strings and comments; `state` carries a block comment or a multi-line
    string across lines."""
    out, i = [], 0
    while i < len(line):
        if state["block"]:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out)
            state["block"], i = False, end + 2
        elif state["multi"]:
            end = line.find('"""', i)
            if end < 0:
                return "".join(out)
            state["multi"], i = False, end + 3
        elif line.startswith("//", i):
            break
        elif line.startswith("/*", i):
            state["block"], i = True, i + 2
        elif line.startswith('"""', i):
            state["multi"], i = True, i + 3
        elif line[i] == '"':
            i += 1
            depth = 0  # interpolations \( ... ) may hold strings; skip to the closing quote
            while i < len(line):
                if line[i] == "\\" and i + 1 < len(line) and line[i + 1] == "(":
                    depth, i = depth + 1, i + 2
                elif line[i] == "\\":
                    i += 2
                elif line[i] == ")" and depth:
                    depth, i = depth - 1, i + 1
                elif line[i] == '"' and not depth:
                    i += 1
                    break
                else:
                    i += 1
        else:
            out.append(line[i])
            i += 1
    return "".join(out)

def functions(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    state = {"block": False, "multi": False}
    code = [strip(l, state) for l in lines]
    for n, text in enumerate(code):
        m = DECL.match(text)
        if not m:
            continue
        name = m.group(2) or m.group(1).split("(")[0].split("<")[0].strip()
        depth, opened = 0, False
        for k in range(n, len(code)):
            for ch in code[k]:
                if ch == "{":
                    depth, opened = depth + 1, True
                elif ch == "}":
                    depth -= 1
            if opened and depth <= 0:
                break
            if not opened and k > n and code[k].strip() == "" and "{" not in "".join(code[n:k]):
                break  # a protocol requirement: no body
        if not opened:
            continue
        above = n - 1
        while above >= 0 and lines[above].strip().startswith("@"):
            above -= 1
        comments = []
        while above >= 0 and lines[above].strip().startswith("//"):
            comments.append(lines[above].strip())
            above -= 1
        reason = any("Kept whole:" in c for c in comments)
        yield name, n + 1, k - n + 1, reason

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=80)
    parser.add_argument("paths", nargs="*", default=["Sources"])
    args = parser.parse_args()
    found = []
    for root in args.paths:
        walk = [(root, [], [os.path.basename(root)])] if root.endswith(".swift") else os.walk(root)
        for folder, _, names in walk:
            for name in names:
                if name.endswith(".swift"):
                    path = root if root.endswith(".swift") else os.path.join(folder, name)
                    for fn, line, length, reason in functions(path):
                        if length > args.limit:
                            found.append((length, path, line, fn, reason))
    found.sort(key=lambda f: (-f[0], f[1], f[2]))
    for length, path, line, fn, reason in found:
        print(f"{length:5} {path}:{line} {fn}" + ("  (kept whole: reason above it)" if reason else ""))
    print(f"{len(found)} functions over {args.limit} lines, "
          f"{sum(1 for f in found if f[4])} of them with a reason above them")

if __name__ == "__main__":
    sys.exit(main())
