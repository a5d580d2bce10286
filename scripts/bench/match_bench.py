#!/usr/bin/env python3
"""The matching benchmark: sisdrop's match stage, the seed system's rule and Splink, scored against
the truth of `sisdrop-gen`. Run it through scripts/bench/match.sh (venv, build, arguments).

For each size it generates a district (cached under scripts/bench/out/match-N-M-SEED/), runs
sisdrop on it (fellegi-sunter, then the placeholder as a baseline: `sisdrop open`, then each stage
as its own process, so that the match stage's peak RSS and CPU seconds are its own), applies the seed rule,
runs Splink 5 with DuckDB, and scores each against truth/students.csv:

  P         correct automatic matches / automatic matches (a link a matcher asserts without a person)
  R         returning students found: matched to the right SIS record, or sent to review with the
            right record among the candidates (the issue counts auto + review as found)
  F1        2PR / (P + R)
  false_auto automatic matches to the wrong SIS record (including new children matched to anyone)
  review    share of submission students sent to a person
  contacts  sisdrop's guardians against truth/contacts.csv: existing guardians (an SIS Contact_ID)
            matched to it, to another, sent to a person, or created as new (the failure); new
            guardians (one person per Same_As group) created once, more than once, never, or linked
            to an SIS contact (a false link); and the submissions that wait for a person only for a
            contact (its students all decided)
  rss, cpu  the match stage process's peak RSS (GNU time) and CPU seconds (user + system); `load` is
            the 1-minute load average when the size finished (the machine may be shared)
  cpu ratio Splink's CPU seconds (its Python process, DuckDB's threads included) over the match
            stage's: on a loaded machine the wall-clock ratio depends on how many threads each runs
  s         seconds: sisdrop's match stage (it reads the snapshot: load + block + score); Splink's
            load + train + block + score; the seed rule's in-Python time
  splink_phases  Splink in detail (the whole model above, not a quick one): wall and CPU seconds of
            its load (DuckDB reads and cleans both CSV files), train (lambda, u, m by EM twice) and
            predict (block + score); the ratios are against their sum

Splink has no review band: its threshold is swept and the one with the best F1 is reported, so its
P, R and false_auto are those of its own best operating point.
"""

import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

PIPELINE = """\
# Written by scripts/bench/match_bench.py.
version: 1
district:
  name: Bench District
  time_zone: America/Chicago
# Delivery needs a field policy; the demo district's grants every field of the generated export.
plugin: {plugin}
pickup:
  quiet_seconds: 0  # the files were just copied in, complete: claim them at once
paths:
  inbox: inbox
  outbox: outbox
  archive: archive
sis_export:
  format: csv
  date_formats: [MM/DD/YYYY, YYYY-MM-DD]
submissions:
  format: csv
  date_formats: [MM/DD/YYYY, YYYY-MM-DD]
matching:
  method: {method}
delivery:
  profile: csv
batch:
  auto_close: true
"""


def log(message):
    print(f"[match-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def read_truth(data):
    truth = {}
    cases = {}
    with open(data / "truth" / "students.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = f"{row['Submission_ID']}/{row['Student_Seq']}"
            truth[key] = row["Truth"]
            cases[key] = row["Case"]
    return truth, cases


def score(decisions, truth):
    """decisions: ref → ("auto", id) | ("review", [ids]) | ("new",). Missing refs count as review (held)."""
    auto = correct_auto = false_auto = review = found = returning = 0
    for ref, expected in truth.items():
        decision = decisions.get(ref, ("review", []))
        if expected != "NEW":
            returning += 1
        if decision[0] == "auto":
            auto += 1
            if decision[1] == expected:
                correct_auto += 1
                found += 1
            else:
                false_auto += 1
        elif decision[0] == "review":
            review += 1
            if expected != "NEW" and expected in decision[1]:
                found += 1
    p = correct_auto / auto if auto else 1.0
    r = found / returning if returning else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"P": p, "R": r, "F1": f1, "false_auto": false_auto, "review": review / max(len(truth), 1),
            "auto": auto, "returning": returning, "found": found}


# --- sisdrop --------------------------------------------------------------------------------------

def run_sisdrop(binary, data, work, method):
    if work.exists():
        shutil.rmtree(work)
    (work / "inbox").mkdir(parents=True)
    (work / "outbox").mkdir()
    for name in ["students.csv", "contacts.csv", "schools.csv", "attendance_codes.csv"]:
        shutil.copyfile(data / "sis" / name, work / "inbox" / name)
    for name in ["submissions.csv", "submission_contacts.csv"]:
        shutil.copyfile(data / "enrollment" / name, work / "inbox" / name)
    if (data / "enrollment" / "documents").is_dir():
        shutil.copyfile(data / "enrollment" / "submission_documents.csv", work / "inbox" / "submission_documents.csv")
        shutil.copytree(data / "enrollment" / "documents", work / "inbox" / "documents")
    else:
        # A data set written before uploads were checked lists documents it has no files for: every such
        # submission would be an error. Matching does not read documents: the list is left out.
        with open(data / "enrollment" / "submission_documents.csv", encoding="utf-8") as handle:
            header = handle.readline()
        (work / "inbox" / "submission_documents.csv").write_text(header, encoding="utf-8")
        log("  no uploaded document files in the data set: submission_documents.csv left empty (matching does not read it)")
    pipeline = work / "pipeline.yaml"
    plugin = Path(__file__).resolve().parent.parent.parent / "Fixtures" / "demo-district" / "config" / "Plugin.xml"
    pipeline.write_text(PIPELINE.format(method=method, plugin=plugin))
    # One process per stage, as `sisdrop run` would run them in one: the match stage's own peak RSS
    # (GNU time's %M, KB) and CPU seconds, apart from parse and normalize (the snapshot load).
    commands = [("open", ["open", "--pipeline", str(pipeline)])] + \
        [(stage, [stage]) for stage in ["parse", "normalize", "match", "deliver"]]
    output = []
    peaks = {}
    cpu = {}
    started = time.monotonic()
    for stage, arguments in commands:
        command = [str(binary)] + arguments + ["--workdir", str(work)]
        measured = work / f"{stage}.time"
        if os.path.exists("/usr/bin/time"):
            command = ["/usr/bin/time", "-f", "%M %U %S", "-o", str(measured)] + command
        result = subprocess.run(command, capture_output=True, text=True)
        output.append(result.stdout + result.stderr)
        if measured.exists():
            try:
                rss, user, system = measured.read_text().split()[-3:]
                peaks[stage], cpu[stage] = int(rss) / 1024, float(user) + float(system)
            except ValueError:
                pass
        if result.returncode != 0:
            break
    wall = time.monotonic() - started
    if peaks:
        log(f"  sisdrop ({method}) peak RSS by stage (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
            + "; CPU s by stage: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
    (work / "sisdrop.out").write_text("".join(output))
    match_dirs = sorted(glob.glob(str(work / "batches" / "*" / "30-match")))
    if not match_dirs:
        sys.exit(f"FAILED: sisdrop run ({method}) wrote no 30-match (exit {result.returncode}); see {work}/sisdrop.out")
    stage = json.loads((Path(match_dirs[-1]) / "stage.json").read_text())
    normalize = json.loads((Path(match_dirs[-1]).parent / "20-normalize" / "stage.json").read_text())
    decisions = {}
    contacts = {}
    with open(Path(match_dirs[-1]) / "decisions.jsonl", encoding="utf-8") as handle:
        for line in handle:
            submission = json.loads(line)
            if any(c["outcome"] == "potential" for c in submission["contacts"]) and \
                    not any(st["decision"]["outcome"] == "potential" for st in submission["students"]):
                contacts.setdefault("_held_for_contact", []).append(submission["submissionID"])
            for contact in submission["contacts"]:
                contacts[f"{submission['submissionID']}/{contact['seq']}"] = (
                    contact["outcome"], contact.get("contactID"), contact.get("sameAs"), contact.get("candidates") or [])
            for student in submission["students"]:
                d = student["decision"]
                ref = f"{submission['submissionID']}/{student['seq']}"
                if d["outcome"] == "matched":
                    decisions[ref] = ("auto", d["sisID"])
                elif d["outcome"] == "potential":
                    # Held only because another form of the batch matched the same SIS child (the guard
                    # of MatchStage): counted apart, as the data sets with several forms per child have many.
                    claimed = any("claimed by more than one" in r for r in d["reasons"]) and \
                        not (d["candidates"] and d["candidates"][0].get("guards"))
                    decisions[ref] = ("review", [c["sisID"] for c in d["candidates"]], claimed)
                else:
                    decisions[ref] = ("new",)
    return decisions, stage["seconds"], normalize["seconds"], wall, stage.get("notes", []), contacts, peaks.get("match"), cpu.get("match")


def score_contacts(contacts, data):
    """Guardians against truth/contacts.csv (see the module's summary for the figures)."""
    existing = {"total": 0, "matched": 0, "wrong": 0, "person": 0, "new": 0, "undecided": 0}
    groups = defaultdict(list)
    with open(data / "truth" / "contacts.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            ref = f"{row['Submission_ID']}/{row['Contact_Seq']}"
            decision = contacts.get(ref)
            if row["Truth"] != "NEW":
                existing["total"] += 1
                if decision is None:
                    existing["undecided"] += 1
                elif decision[0] == "matched":
                    existing["matched" if decision[1] == row["Truth"] else "wrong"] += 1
                elif decision[0] == "potential":
                    existing["person"] += 1
                else:
                    existing["new"] += 1
            else:
                groups[row["Same_As"] or ref].append(ref)
    new = {"persons": len(groups), "once": 0, "more": 0, "never": 0, "linked": 0, "person": 0}
    for refs in groups.values():
        decided = [contacts.get(ref) for ref in refs]
        created = sum(1 for d in decided if d and d[0] == "new" and not d[2])
        if any(d and d[0] == "matched" for d in decided):
            new["linked"] += 1
        if any(d and d[0] == "potential" for d in decided):
            new["person"] += 1
        if created == 1:
            new["once"] += 1
        elif created > 1:
            new["more"] += 1
        else:
            new["never"] += 1
    new["held_for_contact"] = len(contacts.get("_held_for_contact", []))
    return existing, new


def contact_line(existing, new):
    return (f"existing guardians {existing['total']}: matched {existing['matched']}, to another contact {existing['wrong']}, "
            f"to a person {existing['person']}, created as new {existing['new']}, undecided {existing['undecided']} | "
            f"new guardians {new['persons']}: created once {new['once']}, more than once {new['more']}, never {new['never']}, "
            f"linked to an SIS contact {new['linked']}, to a person {new['person']} | "
            f"submissions waiting for a person for a contact only: {new['held_for_contact']}")


# --- the seed system's rule ---------------------------------------------------------------------------

def fold(text):
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in text if ch.isalpha())


def gender(text):
    t = (text or "").strip().lower()
    return {"m": "M", "male": "M", "f": "F", "female": "F"}.get(t, t.upper())


def seed_rule(data):
    """SIS id (state id) → match; else same first initial + last name beginning the same (3 letters)
    + exactly the same gender → potential; else no match."""
    started = time.monotonic()
    by_state = {}
    by_key = defaultdict(list)
    with open(data / "sis" / "students.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["State_StudentNumber"]:
                by_state[row["State_StudentNumber"]] = row["Student_Number"]
            first, last = fold(row["First_Name"]), fold(row["Last_Name"])
            if first and last:
                by_key[(first[0], last[:3], gender(row["Gender"]))].append(row["Student_Number"])
    decisions = {}
    seq = defaultdict(int)
    with open(data / "enrollment" / "submissions.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            seq[row["Submission_ID"]] += 1
            ref = f"{row['Submission_ID']}/{seq[row['Submission_ID']]}"
            state = row["State_StudentNumber"].strip()
            if state and state in by_state:
                decisions[ref] = ("auto", by_state[state])
                continue
            first, last = fold(row["First_Name"]), fold(row["Last_Name"])
            candidates = by_key.get((first[:1], last[:3], gender(row["Gender"])), []) if first and last else []
            decisions[ref] = ("review", candidates) if candidates else ("new",)
    return decisions, time.monotonic() - started


# --- Splink ---------------------------------------------------------------------------------------------

PREP = """
CREATE TABLE {name} AS
SELECT {id} AS unique_id,
  nullif(trim(State_StudentNumber), '') AS state_id,
  nullif(regexp_replace(lower(strip_accents(First_Name)), '[^a-z ]', '', 'g'), '') AS first_name,
  nullif(regexp_replace(lower(strip_accents(regexp_replace(Last_Name, '[-]', ' ', 'g'))), '[^a-z ]', '', 'g'), '') AS surname,
  coalesce(try_strptime(DOB, '%m/%d/%Y'), try_strptime(DOB, '%Y-%m-%d'))::DATE::VARCHAR AS dob,
  CASE lower(trim(Gender)) WHEN 'male' THEN 'M' WHEN 'female' THEN 'F' ELSE upper(trim(Gender)) END AS gender,
  nullif(lower(trim(Street)), '') AS street,
  nullif(left(trim(Zip), 5), '') AS postcode,
  nullif(regexp_replace(Home_Phone, '[^0-9]', '', 'g'), '') AS phone,
  nullif(lower(trim(Email)), '') AS email
FROM read_csv('{path}', all_varchar = true, header = true)
"""


def run_splink(data):
    """Splink 5 + DuckDB, set up as its documentation's person-linkage examples: name comparisons with
    term-frequency adjustments (and a forename/surname comparison that sees swapped names), the date
    of birth comparison, exact gender / postcode / phone / state id, e-mail; λ from a deterministic
    rule, u by random sampling, m by EM on two blocking rules; predictions blocked on state id,
    date of birth, full name, surname + birth year, phone, and postcode + street."""
    import duckdb
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI
    import logging
    logging.getLogger("splink").setLevel(logging.ERROR)

    started = time.monotonic()
    # CPU seconds of this process (DuckDB's threads included): on a shared machine a program with
    # more threads gets more of the CPU, so the wall-clock ratio alone favours DuckDB's many threads.
    cpu_started = time.process_time()
    # The phases, each as (wall s, CPU s): where Splink's time goes, beside the match stage's whole
    # (which also loads, trains and scores): load (DuckDB reads and cleans both CSV files), train
    # (lambda, u by sampling, m by EM twice), predict (blocking and scoring every pair).
    phases = {}
    mark = [started, cpu_started]

    def phase(name):
        now, cpu_now = time.monotonic(), time.process_time()
        phases[name] = (now - mark[0], cpu_now - mark[1])
        mark[:] = [now, cpu_now]
    con = duckdb.connect()
    con.execute(PREP.format(name="sis", id="Student_Number", path=data / "sis" / "students.csv"))
    con.execute(PREP.format(name="sub_raw", id="Submission_ID", path=data / "enrollment" / "submissions.csv"))
    # Submission students are keyed SUBMISSION/SEQ, as in the truth file.
    con.execute("""CREATE TABLE sub AS SELECT * EXCLUDE (unique_id),
        unique_id || '/' || row_number() OVER (PARTITION BY unique_id ORDER BY rowid) AS unique_id FROM (SELECT rowid, * FROM sub_raw)""")
    for table in ("sis", "sub"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN first_name_surname_concat VARCHAR")
        con.execute(f"UPDATE {table} SET first_name_surname_concat = concat_ws(' ', first_name, surname)")
    db_api = DuckDBAPI(connection=con)
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.ForenameSurnameComparison("first_name", "surname",
                                         forename_surname_concat_col_name="first_name_surname_concat"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("gender"),
            cl.ExactMatch("state_id"),
            cl.ExactMatch("postcode"),
            cl.LevenshteinAtThresholds("street", 2),
            cl.ExactMatch("phone"),
            cl.EmailComparison("email"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("state_id"),
            block_on("dob"),
            block_on("first_name", "surname"),
            block_on("surname", "substr(dob, 1, 4)"),
            block_on("phone"),
            block_on("postcode", "street"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    sis = db_api.register("sis", dataset_display_name="sis")
    sub = db_api.register("sub", dataset_display_name="sub")
    linker = Linker([sis, sub], settings)
    phase("load")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob"), block_on("state_id")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    phase("train")
    predictions = linker.inference.predict(threshold_match_probability=0.001)
    rows = con.execute(f"""
        SELECT CASE WHEN source_dataset_l = 'sub' THEN unique_id_l ELSE unique_id_r END AS sub_id,
               CASE WHEN source_dataset_l = 'sub' THEN unique_id_r ELSE unique_id_l END AS sis_id,
               match_probability
        FROM {predictions.physical_name}""").fetchall()
    phase("predict")
    seconds = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    best = {}
    for sub_id, sis_id, p in rows:
        if sub_id not in best or p > best[sub_id][1]:
            best[sub_id] = (sis_id, p)
    return best, seconds, cpu, phases


def splink_decisions(best, threshold):
    return {ref: ("auto", sis_id) if p >= threshold else ("new",) for ref, (sis_id, p) in best.items()}


def best_threshold(best, truth):
    result = None
    for threshold in [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999]:
        decisions = splink_decisions(best, threshold)
        for ref in truth:
            decisions.setdefault(ref, ("new",))
        s = score(decisions, truth)
        if result is None or s["F1"] > result[1]["F1"]:
            result = (threshold, s)
    return result


# --- report -----------------------------------------------------------------------------------------------

def by_case(decisions, truth, cases, limit=12):
    """The cases where a matcher errs most, to see what to fix."""
    wrong = defaultdict(lambda: [0, 0, 0, 0])  # total, false auto, missed, review
    for ref, expected in truth.items():
        d = decisions.get(ref, ("review", []))
        case = cases[ref].split("+")
        for c in case:
            w = wrong[c]
            w[0] += 1
            if d[0] == "auto" and d[1] != expected:
                w[1] += 1
            if expected != "NEW" and not ((d[0] == "auto" and d[1] == expected) or (d[0] == "review" and expected in d[1])):
                w[2] += 1
            if d[0] == "review":
                w[3] += 1
    return sorted(wrong.items(), key=lambda kv: -(kv[1][1] * 100 + kv[1][2] * 10 + kv[1][3]))[:limit]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", default="100000")
    parser.add_argument("--submissions", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument("--no-placeholder", action="store_true")
    parser.add_argument("--cases", action="store_true", help="print where each matcher errs, by generated case")
    parser.add_argument("--data", action="append", default=[],
                        help="a prepared data set (sis/, enrollment/, truth/ as `sisdrop-gen` writes them) instead of generating; repeatable")
    args = parser.parse_args()
    out = Path(args.out)
    lines = []
    sets = [(Path(d).name, Path(d)) for d in args.data] or \
        [(f"{n}", out / f"match-{n}-{min(args.submissions, n)}-{args.seed}")
         for n in [int(x.replace("_", "")) for x in args.students.split(",")]]
    # Generated data is reused while the generator's source is the same (a changed generator makes other data).
    generator = Path(__file__).resolve().parent.parent.parent / "Sources" / "SISDropGenerator"
    import hashlib
    stamp = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(generator.glob("*.swift")))).hexdigest() + "\n"
    for label, data in sets:
        if args.data:
            n = sum(1 for _ in open(data / "sis" / "students.csv", encoding="utf-8")) - 1
            m = sum(1 for _ in open(data / "truth" / "students.csv", encoding="utf-8")) - 1
        else:
            n = int(label)
            m = min(args.submissions, n)
        if not args.data and (not (data / "GENERATED").exists() or (data / "GENERATED").read_text() != stamp):
            log(f"generating {n:,} students, {m:,} submissions (seed {args.seed})")
            if data.exists():
                shutil.rmtree(data)
            subprocess.run([str(Path(args.binary).with_name("sisdrop-gen")), "--students", str(n), "--submissions", str(m), "--seed", str(args.seed),
                            "--out", str(data)], check=True, stdout=subprocess.DEVNULL)
            (data / "GENERATED").write_text(stamp)
        truth, cases = read_truth(data)
        rows = []
        log(f"{n:,}: sisdrop run (fellegi-sunter)")
        fs, fs_s, fs_norm, fs_wall, notes, fs_contacts, fs_rss, fs_cpu = run_sisdrop(args.binary, data, out / f"run-{label}-fs", "fellegi-sunter")
        contact_figures = contact_line(*score_contacts(fs_contacts, data)) if (data / "truth" / "contacts.csv").exists() else None
        fs_score = score(fs, truth)
        rows.append(("sisdrop", fs_score, fs_s, f"match stage (its own process: peak RSS {fs_rss or 0:.0f} MB, CPU {fs_cpu or 0:.1f} s); "
                     f"normalize (snapshot load) {fs_norm:.1f} s, run {fs_wall:.1f} s"))
        for note in notes:
            log(f"  {note}")
        claimed_only = sum(1 for d in fs.values() if d[0] == "review" and len(d) > 2 and d[2])
        if not args.no_placeholder:
            log(f"{n:,}: sisdrop run (placeholder)")
            ph, ph_s, _, _, _, _, _, _ = run_sisdrop(args.binary, data, out / f"run-{label}-placeholder", "placeholder")
            rows.append(("placeholder", score(ph, truth), ph_s, "the first matcher, match stage"))
        log(f"{n:,}: seed rule")
        sr, sr_s = seed_rule(data)
        rows.append(("seed-rule", score(sr, truth), sr_s, "SIS id, else initial + last-name prefix + gender → potential"))
        if not args.no_splink:
            log(f"{n:,}: splink (its own log: {out / f'splink-{label}.log'})")
            import contextlib
            with open(out / f"splink-{label}.log", "w") as splink_log, contextlib.redirect_stdout(splink_log), \
                    contextlib.redirect_stderr(splink_log):
                best, sp_s, sp_cpu, sp_phases = run_splink(data)
            threshold, sp_score = best_threshold(best, truth)
            rows.append(("splink", sp_score, sp_s, f"load + train + block + score, CPU {sp_cpu:.1f} s; best-F1 threshold {threshold}"))
        print(f"\n{'' if not args.data else label + ': '}students={n:,} submissions={m:,} (returning {fs_score['returning']:,}, new {len(truth) - fs_score['returning']:,})")
        print(f"{'matcher':12} {'P':>7} {'R':>7} {'F1':>7} {'false_auto':>10} {'review':>7} {'auto':>6} {'s':>8}  note")
        for name, s, secs, note in rows:
            print(f"{name:12} {s['P']:7.4f} {s['R']:7.4f} {s['F1']:7.4f} {s['false_auto']:10d} {s['review'] * 100:6.2f}% "
                  f"{s['auto']:6d} {secs:8.2f}  {note}")
        if claimed_only:
            print(f"  sisdrop review held only because two forms of the batch matched one SIS child: {claimed_only} "
                  f"({claimed_only / max(len(truth), 1) * 100:.2f}% of students; review without them "
                  f"{(fs_score['review'] * len(truth) - claimed_only) / max(len(truth), 1) * 100:.2f}%)")
        if contact_figures:
            print(f"sisdrop contacts: {contact_figures}")
        if args.cases:
            for name, decisions in [("sisdrop", fs)]:
                print(f"  {name} by case (total, false auto, missed, review):")
                for case, counts in by_case(decisions, truth, cases):
                    print(f"    {case:36} {counts}")
        parts = []
        for name, s, secs, _ in rows:
            if name == "placeholder":
                continue
            parts.append(f"{name} P={s['P']:.4f} R={s['R']:.4f} F1={s['F1']:.4f} false_auto={s['false_auto']} "
                         f"review={s['review'] * 100:.2f}% s={secs:.2f}")
        secs = {name: t for name, _, t, _ in rows}
        if "splink" in secs and secs.get("sisdrop"):
            # The targets as ratios: Splink's seconds over the match stage's, F1 against Splink's.
            f1 = {name: sc["F1"] for name, sc, _, _ in rows}
            parts.append(f"splink_s/sisdrop_s={secs['splink'] / secs['sisdrop']:.1f}x F1-F1_splink={f1['sisdrop'] - f1['splink']:+.4f}")
        if fs_rss is not None:
            # The match stage's own process (GNU time), and the machine's load while this size ran.
            parts.append(f"match_stage_peak_rss={fs_rss:.0f}MB match_stage_cpu_s={fs_cpu:.2f} load={os.getloadavg()[0]:.1f}")
            if "splink" in secs and fs_cpu:
                parts.append(f"splink_cpu_s={sp_cpu:.2f} splink_cpu/sisdrop_cpu={sp_cpu / fs_cpu:.1f}x")
        if "splink" in secs:
            # Splink in detail: each phase's wall and CPU seconds (run_splink); the ratios above are
            # against all of them, as the match stage's figures cover its own load, training and scoring.
            parts.append("splink_phases " + " ".join(f"{name}={wall:.2f}s/cpu={cpu:.2f}s"
                                                      for name, (wall, cpu) in sp_phases.items()))
        lines.append(("" if not args.data else f"data={label} ") + f"students={n} submissions={m} | " + " | ".join(parts))
        if contact_figures:
            lines.append(("" if not args.data else f"data={label} ") + f"students={n} submissions={m} | sisdrop contacts: {contact_figures}")
    print()
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
