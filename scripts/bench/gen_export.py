#!/usr/bin/env python3
"""Generate a synthetic PowerSchool SIS export for the sisdrop benchmark (scripts/bench/pipeline.sh).

    python3 scripts/bench/gen_export.py --students N --seed S --out DIR

Writes, in DIR:
    csv/students.csv contacts.csv schools.csv attendance_codes.csv   (Sources/SISDropCore/Records/Layouts.swift)
    xml/students.xml contacts.xml schools.xml attendance_codes.xml   (the same records as XML)
    submissions.csv                                                  (a handful of enrollment rows)
    DONE                                                             (written last: the set is complete)

Deterministic for a given (N, seed): a `random.Random(seed)` stream, values drawn from fixed pools
(accented names, streets, some values that need CSV quoting because they hold commas). Columns are
drawn in bulk per chunk of rows (`Random.choices`) and written with the csv module, so 1M students
take seconds, not minutes. This is benchmark data, not a fixture: nothing here is asserted.
"""

import argparse
import csv
import os
import random
import sys
import time
import unicodedata
from pathlib import Path
from xml.sax.saxutils import escape

GENERATOR_VERSION = 1
CHUNK = 50_000

STUDENT_FIELDS = [
    "Student_Number", "State_StudentNumber", "First_Name", "Middle_Name", "Last_Name", "DOB", "Gender",
    "Grade_Level", "SchoolID", "Enroll_Status", "Street", "City", "State", "Zip", "Home_Phone", "Email",
]
CONTACT_FIELDS = [
    "Contact_ID", "Student_Number", "First_Name", "Last_Name", "Relationship", "Phone", "Email", "Street",
    "City", "State", "Zip",
]
SUBMISSION_FIELDS = [
    "Submission_ID", "Form", "Approved_At", "State_StudentNumber", "First_Name", "Middle_Name", "Last_Name", "DOB",
    "Gender", "Grade_Level", "School", "Street", "City", "State", "Zip", "Home_Phone", "Email",
]
SCHOOLS = [("0101", "Lincoln Elementary"), ("0202", "Roosevelt Middle School"), ("0303", "Jefferson High School")]
ATT_CODES = [("T", "Tardy", "Present"), ("TU", "Tardy Unexcused", "Present"),
             ("TE", "Tardy Excused", "Present"), ("A", "Absent", "Absent")]

FIRST = [
    "José", "María", "Zoë", "Chloé", "Renée", "Björn", "Sofía", "Mateo", "Camila", "Sebastián", "Valentina",
    "Noah", "Liam", "Olivia", "Emma", "Ava", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail",
    "Ethan", "Lucas", "Mason", "Logan", "Jackson", "Aiden", "Elijah", "James", "Benjamin", "Jaylen", "Aaliyah",
    "Diya", "Arjun", "Priya", "Hamza", "Fatima", "Abdi", "Mohamed", "Ngozi", "Chinedu", "Mei", "Wei", "Hiroshi",
    "Yuki", "Minh", "Thảo", "Đức", "Anaïs", "François", "Søren", "Åsa", "Jürgen", "Łukasz", "Zoé", "Inés",
    "Ángel", "Joaquín", "Nicolás", "Ximena", "Daniela", "Isaiah", "Tamika", "Deshawn", "Imani", "Kwame",
    "Anne-Marie", "Jean-Luc", "Mary Kate", "D'Andre", "De'Shawn",
]
LAST = [
    "García", "López", "Martínez", "Rodríguez", "Hernández", "González", "Pérez", "Sánchez", "Ramírez", "Núñez",
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker",
    "Nguyen", "Trần", "Phạm", "Kim", "Park", "Chen", "Wang", "Patel", "Shah", "Singh", "Ali", "Mohamed",
    "Hamdan", "Okafor", "Adeyemi", "Müller", "Schröder", "Østergaard", "Dvořák", "Kowalski", "Łukasiewicz",
    "O'Brien", "O'Connor", "McDonald", "MacLeod", "de la Cruz", "Van der Berg", "García-López", "Smith-Jones",
    "Rivera", "Torres", "Flores", "Gómez", "Díaz", "Cruz", "Reyes", "Morales", "Ortiz", "Gutiérrez",
    # held in quotes in CSV: a comma inside the value
    "Smith, Jr.", "Johnson, III", "King, Sr.",
]
STREET_NAMES = [
    "Monroe St", "Adams St", "Outer Park Dr", "Bates Ave", "Spring St", "Laurel St", "N Grand Ave E", "Cook St",
    "Washington St", "Jefferson St", "Lincoln Ave", "Maple Ave", "Oak St", "Elm St", "Walnut St", "Chestnut St",
    "S 2nd St", "S 5th St", "Wabash Ave", "Chatham Rd", "Dirksen Pkwy", "Stevenson Dr", "MacArthur Blvd",
    "Peoria Rd", "Sangamon Ave", "Ridgely Ave", "Calle de la Peña", "Rue Saint-Honoré",
]
CITIES = [("Springfield", "62701"), ("Springfield", "62702"), ("Springfield", "62703"), ("Springfield", "62704"),
          ("Springfield", "62707"), ("Springfield", "62711"), ("Springfield", "62712"), ("Jerome", "62704"),
          ("Leland Grove", "62704"), ("Grandview", "62702"), ("Southern View", "62703")]
RELATIONSHIPS = ["Mother", "Father", "Guardian", "Grandmother", "Grandfather", "Stepmother", "Stepfather", "Aunt"]


def ascii_key(name):
    decomposed = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L").replace("ø", "o")
                                       .replace("Ø", "O").replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def school_for(grade):
    return "0101" if grade <= 5 else ("0202" if grade <= 8 else "0303")


class XMLWriter:
    """Writes `<root><record><Field>value</Field>...</record>...</root>`; values escaped once per pool."""

    def __init__(self, path, root, record, fields):
        self.file = open(path, "w", encoding="utf-8", newline="\n")
        self.record_open = f"  <{record}>"
        self.record_close = f"</{record}>\n"
        self.opens = [f"<{f}>" for f in fields]
        self.closes = [f"</{f}>" for f in fields]
        self.empties = [f"<{f}/>" for f in fields]
        self.root = root
        self.file.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>\n')

    def writerows(self, rows):
        opens, closes, empties = self.opens, self.closes, self.empties
        parts = []
        append = parts.append
        for row in rows:
            append(self.record_open)
            for i, value in enumerate(row):
                if value:
                    append(opens[i]); append(escape(value)); append(closes[i])
                else:
                    append(empties[i])
            append(self.record_close)
        self.file.write("".join(parts))

    def close(self):
        self.file.write(f"</{self.root}>\n")
        self.file.close()


def generate(n, seed, out):
    rng = random.Random(seed)
    csv_dir, xml_dir = out / "csv", out / "xml"
    csv_dir.mkdir(parents=True, exist_ok=True)
    xml_dir.mkdir(parents=True, exist_ok=True)

    # Pools: everything a row needs is an index into one of these (no per-row string work beyond joins).
    streets = []
    for i in range(4096):
        street = f"{rng.randrange(100, 9999)} {rng.choice(STREET_NAMES)}"
        if i % 10 == 0:
            street += f", Apt {rng.randrange(1, 40)}"  # a comma: quoted in CSV
        streets.append(street)
    phones = [f"217-555-{i:04d}" for i in range(10000)]
    dobs_by_grade = {}
    for grade in range(-1, 13):
        year = 2026 - 5 - grade - 1  # born in the school year that makes this grade
        dobs_by_grade[grade] = [f"{m:02d}/{d:02d}/{y}" for y in (year, year + 1) for m in range(1, 13) for d in range(1, 29)]
    grades = list(range(-1, 13))
    genders = ["M", "F", "X"]
    gender_w = [49, 49, 2]
    enroll = ["0", "0", "0", "0", "0", "0", "0", "0", "2", "-1"]
    middles = [""] * 6 + FIRST
    first_keys = {f: ascii_key(f) for f in FIRST}
    last_keys = {l: ascii_key(l) for l in LAST}

    students_csv = open(csv_dir / "students.csv", "w", encoding="utf-8", newline="")
    contacts_csv = open(csv_dir / "contacts.csv", "w", encoding="utf-8", newline="")
    sw, cw = csv.writer(students_csv, lineterminator="\n"), csv.writer(contacts_csv, lineterminator="\n")
    sw.writerow(STUDENT_FIELDS)
    cw.writerow(CONTACT_FIELDS)
    sx = XMLWriter(xml_dir / "students.xml", "students", "student", STUDENT_FIELDS)
    cx = XMLWriter(xml_dir / "contacts.xml", "contacts", "contact", CONTACT_FIELDS)

    contact_id = 0
    sample = []  # a few generated students, to make submissions that resemble SIS records
    for start in range(0, n, CHUNK):
        k = min(CHUNK, n - start)
        numbers = [str(100000 + 3 * i + rng.randrange(3)) for i in range(start, start + k)]
        state_ids = [f"{rng.randrange(10**10):010d}" for _ in range(k)]
        firsts = rng.choices(FIRST, k=k)
        mids = rng.choices(middles, k=k)
        lasts = rng.choices(LAST, k=k)
        gs = rng.choices(grades, k=k)
        gens = rng.choices(genders, gender_w, k=k)
        sts = rng.choices(streets, k=k)
        cities = rng.choices(CITIES, k=k)
        ph = rng.choices(phones, k=k)
        ens = rng.choices(enroll, k=k)
        rows = []
        crows = []
        for i in range(k):
            g = gs[i]
            first, last = firsts[i], lasts[i]
            dob_pool = dobs_by_grade[g]
            city, zip_code = cities[i]
            email = f"{first_keys[first]}.{last_keys[last]}{numbers[i][-3:]}@students.bench.example" if i & 1 else ""
            rows.append([numbers[i], state_ids[i], first, mids[i], last, dob_pool[(start + i) * 7 % len(dob_pool)],
                         gens[i], str(g), school_for(g), ens[i], sts[i], city, "IL", zip_code, ph[i], email])
            # ~1.5 contacts per student: a parent always, a second one every other student
            for c in range(1 + (i & 1)):
                contact_id += 1
                cfirst = FIRST[(start + i + 31 * c) % len(FIRST)]
                clast = last if c == 0 else LAST[(start + i * 7) % len(LAST)]
                cphone = phones[(start * 3 + i * 13 + c) % 10000]
                cemail = f"{first_keys[cfirst]}.{last_keys[clast]}@mail.example" if (i + c) % 3 else ""
                crows.append([f"C{contact_id:07d}", numbers[i], cfirst, clast, RELATIONSHIPS[(i + c) % len(RELATIONSHIPS)],
                              cphone, cemail, sts[i], city, "IL", zip_code])
        if start == 0:
            sample = rows[:3]
        sw.writerows(rows)
        cw.writerows(crows)
        sx.writerows(rows)
        cx.writerows(crows)
    students_csv.close()
    contacts_csv.close()
    sx.close()
    cx.close()

    with open(csv_dir / "schools.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["School_Number", "Name"])
        w.writerows(SCHOOLS)
    att = [[code, desc, school, presence] for school, _ in SCHOOLS for code, desc, presence in ATT_CODES]
    with open(csv_dir / "attendance_codes.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["Att_Code", "Description", "SchoolID", "Presence_Status_CD"])
        w.writerows(att)
    x = XMLWriter(xml_dir / "schools.xml", "schools", "school", ["School_Number", "Name"])
    x.writerows([list(s) for s in SCHOOLS])
    x.close()
    x = XMLWriter(xml_dir / "attendance_codes.xml", "attendance_codes", "attendance_code",
                  ["Att_Code", "Description", "SchoolID", "Presence_Status_CD"])
    x.writerows(att)
    x.close()

    # A handful of enrollment submissions: returning students (copied from the export, typed a
    # little differently) and new ones. Always CSV: the submissions feed is separate from the SIS export.
    form_r, form_n = "2026-27 Returning Student Registration", "2026-27 New Student Registration"
    subs = []
    for j, s in enumerate(sample):
        m, d, y = s[5].split("/")
        subs.append([f"S-BENCH-{j + 1:04d}", form_r, f"2026-11-17 1{j}:23", s[1], s[2].upper() if j == 1 else s[2], s[3],
                     s[4], f"{y}-{m}-{d}" if j == 0 else s[5], {"M": "Male", "F": "Female"}.get(s[6], s[6]), s[7],
                     s[8] if j else dict(SCHOOLS)[s[8]], s[10], s[11], s[12], s[13], s[14], s[15]])
    subs.append(["S-BENCH-0004", form_n, "2026-11-18 09:05", "", "Zoë", "", "Østergaard", "2020-03-14", "F", "K",
                 "Lincoln Elementary", "1200 Monroe St, Apt 2", "Springfield", "IL", "62704", "(217) 555-0134", ""])
    subs.append(["S-BENCH-0005", form_n, "2026-11-18T10:40:00-06:00", "", "Mateo", "José", "Núñez", "09/30/2013",
                 "Male", "8th", "0202", "77 Cook St", "Springfield", "IL", "62701", "217.555.0199",
                 "mateo.nunez@students.bench.example"])
    with open(out / "submissions.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(SUBMISSION_FIELDS)
        w.writerows(subs)
    return contact_id


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, required=True)
    parser.add_argument("--seed", type=int, default=20261120)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    done = args.out / "DONE"
    stamp = f"generator {GENERATOR_VERSION} students {args.students} seed {args.seed}\n"
    if done.exists() and done.read_text() == stamp:
        print(f"reusing {args.out}", file=sys.stderr)
        return
    if done.exists():
        done.unlink()
    started = time.perf_counter()
    contacts = generate(args.students, args.seed, args.out)
    done.write_text(stamp)
    print(f"generated {args.students} students, {contacts} contacts in {time.perf_counter() - started:.1f} s -> {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
